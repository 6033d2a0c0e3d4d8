"""What the benchmarks share about this machine: its load beside each figure, percentiles and a
free port. Not a benchmark (scripts/run-benchmarks.sh skips `_` files); the benches import it
from their own folder, which Python puts first on the path when it runs them."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence


def cpu_probe() -> float:
    """Milliseconds of a fixed pure-Python loop: grows when other processes take the cores."""
    started = time.perf_counter()
    total = 0
    for i in range(1_000_000):
        total += i % 7
    return (time.perf_counter() - started) * 1000


def machine() -> str:
    return f"load {os.getloadavg()[0]:.1f}, probe {cpu_probe():.0f} ms"


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
