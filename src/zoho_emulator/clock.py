"""The emulator's injectable time source: real time plus a controllable offset, or frozen."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    """Timezone-aware UTC time that tests can set or advance; `now()` keeps running after `set`.

    `freeze()` stops it, which contract tests use to get stable one-second timestamps.
    """

    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._offset = 0.0
        self._frozen: float | None = None
        self._lock = threading.Lock()

    def time(self) -> float:
        """Seconds since the epoch, as the emulator sees them."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return self._source() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def set(self, when: datetime, *, frozen: bool = False) -> None:
        if when.tzinfo is None:
            raise ValueError(f"Clock.set needs an aware datetime, got {when!r}.")
        target = when.timestamp()
        with self._lock:
            self._offset = target - self._source()
            self._frozen = target if frozen else None

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds
            if self._frozen is not None:
                self._frozen += seconds

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            self._frozen = None
