"""What the benchmarks share about this machine: its load beside each figure, percentiles, a
free port, and waiting for and stopping their processes. Not a benchmark
(scripts/run-benchmarks.sh skips `_` files); the benches import it from their own folder,
which Python puts first on the path when it runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Sequence

import httpx


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


def wait_until(probe: Callable[[], bool], what: str, timeout: float = 600.0,
               every: float = 0.01) -> float:
    """Seconds until probe() holds; fails loudly past the timeout."""
    started = time.perf_counter()
    while not probe():
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"FAILED: timed out after {timeout:.0f} s waiting for {what}.")
        time.sleep(every)
    return time.perf_counter() - started


def answers(url: str, timeout: float = 2) -> bool:
    """Whether something answers HTTP at `url` (any status)."""
    try:
        httpx.get(url, timeout=timeout)
    except httpx.TransportError:
        return False
    return True


def stop(proc: subprocess.Popen[bytes], grace: float = 10) -> None:
    """Terminate, then kill if it is still there after `grace` seconds (a job still running
    holds uvicorn's shutdown)."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
