"""Graceful stops on SIGTERM and Ctrl-C: the runner finishes its page, then lets the job go."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Protocol


class Stoppable(Protocol):
    def request_stop(self) -> None: ...


@contextmanager
def stop_on_signals(runner: Stoppable,
                    signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
                    ) -> Iterator[None]:
    """While the block runs, SIGTERM and SIGINT ask the runner to stop between two pages
    (its job goes back to the queue and resumes later) instead of killing the process
    mid-page. Python only lets the main thread set handlers: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(_signum: int, _frame: FrameType | None) -> None:
        runner.request_stop()

    previous = {sig: signal.signal(sig, handle) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
