"""Delivering callbacks (notifications, bulk-read completion) to their URLs from threads.

Writes only enqueue, so a slow receiver never slows the API. A pool of SENDERS threads POSTs
the callbacks; each thread owns one keep-alive httpx client built when it starts, and thread
and client live until `close()` (or until a dispatcher nobody closed is garbage collected), so
the first callback after a quiet spell pays no thread start and no client set-up, nor a new
connection while the receiver keeps the idle one open. Threads start on the first callback
routed to them.

Ordering: a callback goes to the sender chosen by its receiver (scheme, host and port of the
URL), so every receiver, and so every notify_url, hears its callbacks in submission order (Zoho
documents no order, but our tests and the fault semantics assume FIFO per channel). Routing by
receiver rather than by full URL also keeps the order across several channels pointed at one
receiver, as before the pool, and one connection per receiver. Distinct receivers mostly land
on distinct senders, so a slow one holds up only the receivers that share its thread.

Faults for notifications (set through test control) drop, duplicate, delay or reorder
callbacks, or deliver them inline before the write's own HTTP response (over one more
long-lived client, shared by inline deliveries). A receiver answering non-2xx, or not answering,
is retried `retries` times after `retry_delay_ms` (Zoho documents no retry; the default is no
retry: README, Part 2 decisions); callbacks queued behind it for the same receiver go ahead.
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
import weakref
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

SENDERS = 3  # sender threads; a receiver's callbacks all go through one of them
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


@dataclass
class Sender:
    """One sender thread's queue: (due time, submission number, delivery), soonest first."""

    heap: list[tuple[float, int, Delivery]]
    wake: threading.Condition
    thread: threading.Thread | None = None


class Outbox:
    """The deliveries waiting for each sender, and the reorder window.

    Sender threads hold the outbox and only a weak reference to their dispatcher: a dispatcher
    nobody closed (a test's emulator state) can still be collected, and its threads then end.
    Methods named `*_locked` expect the caller to hold `lock`.
    """

    def __init__(self, senders: int) -> None:
        self.lock = threading.Lock()
        self.senders = [Sender([], threading.Condition(self.lock)) for _ in range(senders)]
        self.held: list[Delivery] = []
        self._held_since = 0.0
        self._held_delay = 0.0
        self._seq = itertools.count()
        self.closed = False

    def sender(self, url: str) -> Sender:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        return self.senders[zlib.crc32(origin.encode()) % len(self.senders)]

    def push_locked(self, delivery: Delivery, delay: float) -> Sender:
        """Queue on the receiver's sender and wake it."""
        sender = self.sender(delivery.url)
        heapq.heappush(sender.heap, (time.monotonic() + delay, next(self._seq), delivery))
        sender.wake.notify()
        return sender

    def hold_locked(self, delivery: Delivery, window: int, delay: float) -> Sender:
        """Hold for the reorder window; a full window goes out newest first."""
        if not self.held:
            self._held_since = time.monotonic()
        self.held.append(delivery)
        self._held_delay = delay
        sender = self.sender(delivery.url)
        # Its thread flushes a partial window in time: wake it to count down from now.
        sender.wake.notify()
        if len(self.held) >= window:
            self._release_locked()
        return sender

    def _release_locked(self) -> None:
        held, self.held = self.held, []
        for delivery in reversed(held):
            self.push_locked(delivery, self._held_delay)

    def next(self, sender: Sender) -> Delivery | None:
        """The sender's next due delivery, waiting for it as long as needed; None once closed."""
        with self.lock:
            while not self.closed:
                now = time.monotonic()
                if self.held and now - self._held_since >= REORDER_FLUSH:
                    self._release_locked()
                if sender.heap and sender.heap[0][0] <= now:
                    return heapq.heappop(sender.heap)[2]
                timeout: float | None = None
                if sender.heap:
                    timeout = sender.heap[0][0] - now
                if self.held:
                    flush = self._held_since + REORDER_FLUSH - now
                    timeout = flush if timeout is None else min(timeout, flush)
                sender.wake.wait(None if timeout is None else max(timeout, 0.001))
            return None

    def clear(self) -> None:
        with self.lock:
            for sender in self.senders:
                sender.heap.clear()
            self.held.clear()

    def pending(self) -> int:
        with self.lock:
            return sum(len(sender.heap) for sender in self.senders) + len(self.held)

    def close(self) -> list[threading.Thread]:
        """Stop handing out deliveries; returns the threads to wait for."""
        with self.lock:
            self.closed = True
            for sender in self.senders:
                sender.wake.notify_all()
            return [sender.thread for sender in self.senders if sender.thread is not None]


class Dispatcher:
    """The outbox, its sender threads and the notification faults; thread-safe `submit`."""

    def __init__(self, senders: int = SENDERS) -> None:
        self.faults = DeliveryFaults()
        self.counts: Counter[str] = Counter()
        self.log: list[dict[str, Any]] = []
        self.clients_built = 0  # one per sender thread started, plus the inline one
        self._outbox = Outbox(senders)
        self._inline: httpx.Client | None = None
        # Never closed and collected (a test's state): the threads end and close their clients.
        weakref.finalize(self, self._outbox.close)

    def reset(self) -> None:
        with self._outbox.lock:
            self.faults = DeliveryFaults()
            self.counts.clear()
            self.log.clear()
        self._outbox.clear()

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
            delay = faults.delay_ms / 1000
            with self._outbox.lock:
                for one in batch:
                    if faults.reorder_window > 1:
                        self._start_locked(
                            self._outbox.hold_locked(one, faults.reorder_window, delay))
                    else:
                        self._start_locked(self._outbox.push_locked(one, delay))
            return
        self._queue(delivery, 0.0)

    def _queue(self, delivery: Delivery, delay: float) -> None:
        with self._outbox.lock:
            self._start_locked(self._outbox.push_locked(delivery, delay))

    def _start_locked(self, sender: Sender) -> None:
        if self._outbox.closed or sender.thread is not None:
            return
        sender.thread = threading.Thread(
            target=self._serve, args=(weakref.ref(self), self._outbox, sender), daemon=True,
            name="zoho-emulator-callbacks")
        sender.thread.start()

    @staticmethod
    def _serve(owner: weakref.ref[Dispatcher], outbox: Outbox, sender: Sender) -> None:
        """A sender thread: one client for its whole life; the dispatcher only while sending."""
        dispatcher = owner()
        if dispatcher is None:
            return
        client = dispatcher._client()
        del dispatcher
        with client:
            while (delivery := outbox.next(sender)) is not None:
                dispatcher = owner()
                if dispatcher is None:
                    return
                dispatcher._send(client, delivery)
                del dispatcher

    def _client(self) -> httpx.Client:
        # httpx writes headers and body separately: without TCP_NODELAY a keep-alive
        # receiver's delayed ACK stalls every callback by ~40 ms. The TLS context is shared:
        # loading the CA bundle costs ~0.1 s.
        transport = httpx.HTTPTransport(socket_options=[NODELAY], verify=_tls_context())
        with self._outbox.lock:
            self.clients_built += 1
        return httpx.Client(timeout=self.faults.timeout_s, transport=transport)

    def _send(self, client: httpx.Client, delivery: Delivery) -> None:
        delivery.attempt += 1
        status: int | None = None
        try:
            # The timeout is read per callback: test control may change it at any time.
            response = client.post(delivery.url, content=json.dumps(delivery.body),
                                   headers={"Content-Type": "application/json"},
                                   timeout=self.faults.timeout_s)
            status = response.status_code
        except httpx.HTTPError:
            status = None
        if status is not None and 200 <= status < 300:
            self._record(delivery, "delivered", status)
            return
        self._record(delivery, "failed", status)
        if delivery.attempt <= self.faults.retries:
            self._queue(delivery, self.faults.retry_delay_ms / 1000)

    def _send_inline(self, delivery: Delivery) -> None:
        # Blocks the event loop on purpose: the receiver sees the callback first.
        if self._inline is None:
            self._inline = self._client()
            weakref.finalize(self, self._inline.close)
        self._send(self._inline, delivery)

    def _record(self, delivery: Delivery, outcome: str, status: int | None) -> None:
        self.counts[outcome] += 1
        entry = {"outcome": outcome, "status": status, "url": delivery.url,
                 "kind": delivery.kind, "attempt": delivery.attempt,
                 "channel_id": delivery.body.get("channel_id"),
                 "operation": delivery.body.get("operation"),
                 "ids": delivery.body.get("ids"),
                 "latency_ms": round((time.perf_counter() - delivery.enqueued) * 1000, 3)}
        with self._outbox.lock:
            self.log.append(entry)
            if len(self.log) > LOG_SIZE:
                del self.log[: len(self.log) - LOG_SIZE]

    def pending(self) -> int:
        return self._outbox.pending()

    def close(self) -> None:
        """Stop the threads (pending deliveries are discarded), wait for them, drop clients."""
        for thread in self._outbox.close():
            thread.join(timeout=15)
        inline, self._inline = self._inline, None
        if inline is not None:
            inline.close()
