"""Delivering callbacks (notifications, bulk-read completion) to their URLs from a thread.

Writes only enqueue; one background thread POSTs in order over a keep-alive httpx client, so a
slow receiver never slows the API. Faults for notifications (set through test control) drop,
duplicate, delay or reorder callbacks, or deliver them inline before the write's own HTTP
response. A receiver answering non-2xx, or not answering, is retried `retries` times after
`retry_delay_ms` (Zoho documents no retry; the default is no retry: README, Part 2 decisions).
The thread stops after a short idle spell and restarts on demand; `close()` stops it for good.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import random
import socket
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

IDLE_EXIT = 2.0  # seconds without work before the thread ends
REORDER_FLUSH = 0.5  # a partly filled reorder window is released after this long
LOG_SIZE = 10_000
NODELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


@dataclass
class DeliveryFaults:
    """Notification faults; counters (`*_next`) apply to the next N callbacks, rates randomly."""

    drop_next: int = 0
    drop_rate: float = 0.0
    duplicate_next: int = 0
    duplicate_rate: float = 0.0
    delay_ms: int = 0
    reorder_window: int = 0  # hold this many callbacks, then send them newest first
    before_response: bool = False  # deliver inline, before the API answers the write
    retries: int = 0
    retry_delay_ms: int = 1_000
    timeout_s: float = 10.0
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def roll(self, counter: str, rate: float) -> bool:
        left = getattr(self, counter)
        if left > 0:
            setattr(self, counter, left - 1)
            return True
        return rate > 0 and self.rng.random() < rate


@dataclass
class Delivery:
    url: str
    body: dict[str, Any]
    kind: str  # "notification" | "bulk"
    enqueued: float = field(default_factory=time.perf_counter)
    attempt: int = 0


class Dispatcher:
    """A queue of deliveries and the thread that sends them; thread-safe `submit`."""

    def __init__(self) -> None:
        self.faults = DeliveryFaults()
        self.counts: Counter[str] = Counter()
        self.log: list[dict[str, Any]] = []
        self._heap: list[tuple[float, int, Delivery]] = []
        self._held: list[Delivery] = []
        self._held_since = 0.0
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def reset(self) -> None:
        with self._cond:
            self.faults = DeliveryFaults()
            self.counts.clear()
            self.log.clear()
            self._heap.clear()
            self._held.clear()

    def submit(self, delivery: Delivery) -> None:
        """Queue a callback, applying the notification faults; returns at once."""
        faults = self.faults
        if delivery.kind == "notification":
            if faults.roll("drop_next", faults.drop_rate):
                self._record(delivery, "dropped", None)
                return
            copies = 2 if faults.roll("duplicate_next", faults.duplicate_rate) else 1
            if copies == 2:
                self.counts["duplicated"] += 1
            batch = [delivery] + [replace(delivery) for _ in range(copies - 1)]
            if faults.before_response:
                for one in batch:
                    self._send_inline(one)
                return
            with self._cond:
                for one in batch:
                    if faults.reorder_window > 1:
                        self._hold(one)
                    else:
                        self._push(one, faults.delay_ms / 1000)
                self._wake()
            return
        with self._cond:
            self._push(delivery, 0.0)
            self._wake()

    def _hold(self, delivery: Delivery) -> None:
        if not self._held:
            self._held_since = time.monotonic()
        self._held.append(delivery)
        if len(self._held) >= self.faults.reorder_window:
            self._release_held()

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for delivery in reversed(held):
            self._push(delivery, self.faults.delay_ms / 1000)

    def _push(self, delivery: Delivery, delay: float) -> None:
        heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), delivery))

    def _wake(self) -> None:
        if self._closed:
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="zoho-emulator-callbacks",
                                            daemon=True)
            self._thread.start()
        self._cond.notify()

    def _next(self) -> Delivery | None:
        """The next due delivery, waiting for it; None when idle for IDLE_EXIT or closed."""
        idle_since = time.monotonic()
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                if self._held and now - self._held_since >= REORDER_FLUSH:
                    self._release_held()
                if self._heap and self._heap[0][0] <= now:
                    return heapq.heappop(self._heap)[2]
                if not self._heap and not self._held:
                    if now - idle_since >= IDLE_EXIT:
                        self._thread = None
                        return None
                    timeout = IDLE_EXIT - (now - idle_since)
                else:
                    timeout = (self._heap[0][0] - now) if self._heap else REORDER_FLUSH
                    if self._held:
                        timeout = min(timeout, REORDER_FLUSH)
                    idle_since = now
                self._cond.wait(max(timeout, 0.001))
            return None

    def _client(self) -> httpx.Client:
        # httpx writes headers and body separately: without TCP_NODELAY a keep-alive
        # receiver's delayed ACK stalls every callback by ~40 ms. The TLS context is shared:
        # loading the CA bundle costs ~0.1 s, and inline delivery makes a client per callback.
        transport = httpx.HTTPTransport(socket_options=[NODELAY], verify=_tls_context())
        return httpx.Client(timeout=self.faults.timeout_s, transport=transport)

    def _run(self) -> None:
        with self._client() as client:
            while (delivery := self._next()) is not None:
                self._send(client, delivery)

    def _send(self, client: httpx.Client, delivery: Delivery) -> None:
        delivery.attempt += 1
        status: int | None = None
        try:
            response = client.post(delivery.url, content=json.dumps(delivery.body),
                                   headers={"Content-Type": "application/json"})
            status = response.status_code
        except httpx.HTTPError:
            status = None
        if status is not None and 200 <= status < 300:
            self._record(delivery, "delivered", status)
            return
        self._record(delivery, "failed", status)
        if delivery.attempt <= self.faults.retries:
            with self._cond:
                self._push(delivery, self.faults.retry_delay_ms / 1000)
                self._cond.notify()

    def _send_inline(self, delivery: Delivery) -> None:
        # Blocks the event loop on purpose: the receiver sees the callback first.
        with self._client() as client:
            self._send(client, delivery)

    def _record(self, delivery: Delivery, outcome: str, status: int | None) -> None:
        self.counts[outcome] += 1
        entry = {"outcome": outcome, "status": status, "url": delivery.url,
                 "kind": delivery.kind, "attempt": delivery.attempt,
                 "channel_id": delivery.body.get("channel_id"),
                 "operation": delivery.body.get("operation"),
                 "ids": delivery.body.get("ids"),
                 "latency_ms": round((time.perf_counter() - delivery.enqueued) * 1000, 3)}
        with self._cond:
            self.log.append(entry)
            if len(self.log) > LOG_SIZE:
                del self.log[: len(self.log) - LOG_SIZE]

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + len(self._held)

    def close(self) -> None:
        """Stop the thread (pending deliveries are discarded) and wait for it."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=15)
