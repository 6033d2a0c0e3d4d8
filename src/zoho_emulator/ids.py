"""19-digit record ids as Zoho hands them out: an org prefix followed by a growing counter."""

from __future__ import annotations

import itertools
import threading


class IdFactory:
    """Monotonic ids; ordering of ids equals creation order, which the store relies on."""

    def __init__(self, prefix: int = 5725767, start: int = 1) -> None:
        # 7-digit prefix + 12-digit counter = 19 digits, like "5725767000004123001".
        self._base = prefix * 10**12
        self._counter = itertools.count(start)
        self._lock = threading.Lock()
        self._last = start - 1

    def next(self) -> int:
        with self._lock:
            self._last = next(self._counter)
            return self._base + self._last

    @property
    def last(self) -> int:
        return self._last

    def restart_after(self, value: int) -> None:
        """Continue after a persisted id (used when loading a --data file)."""
        with self._lock:
            self._counter = itertools.count(value - self._base + 1)
            self._last = value - self._base
