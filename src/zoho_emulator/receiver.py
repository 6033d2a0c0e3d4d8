"""CallbackReceiver: a tiny HTTP server on a free 127.0.0.1 port that records the callbacks the
emulator POSTs (notifications, bulk-read completion), for tests and benchmarks.

`with CallbackReceiver() as hooks:` -> `hooks.url("/zoho?src=crm")`, `hooks.calls`,
`hooks.wait_for(lambda calls: ..., timeout)`; `hooks.status = 500` makes it answer errors.
Keep-alive (HTTP/1.1), so a stream of callbacks costs no connection setup each.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Call:
    """One request received: path, query parameters, JSON body, arrival (perf_counter)."""

    path: str
    query: dict[str, str]
    body: Any
    arrived: float


class CallbackReceiver:
    """Records every POST; thread-safe; answers `status` (200 by default) with an empty body."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.status = 200
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                parts = urlsplit(self.path)
                receiver._record(Call(parts.path, dict(parse_qsl(parts.query)), body,
                                      time.perf_counter()))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"callback-receiver-{self.port}", daemon=True)

    def __enter__(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()

    def url(self, path: str = "/callback") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self.calls.clear()

    def wait_for(self, done: Callable[[list[Call]], bool], timeout: float = 5.0) -> list[Call]:
        """Wait until `done(calls)` holds; returns a copy of the calls either way."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not done(self.calls):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return list(self.calls)

    def bodies(self) -> list[Any]:
        with self._cond:
            return [c.body for c in self.calls]
