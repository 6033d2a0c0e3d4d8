"""A client trickling a request body must not hold the server up: while a chunked upload
crawls in on a live server (uvicorn, the real middlewares), `/healthz` answers at once."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.live import LiveServer, serve_alix

TRICKLE_SECONDS = 3.0
FAST = 1.0  # seconds: /healthz is a liveness probe, a load balancer gives up after a few


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_alix(Path(tmp_path_factory.mktemp("slow")) / "alix.db") as server:
        yield server


def _trickle(base_url: str, path: str, content_type: str, stop: threading.Event,
             early: list[bytes]) -> None:
    """POST `path` with a chunked body, one small chunk every 0.1 s until `stop`; an answer
    the server sent before the body ended goes to `early` (it was not reading the body)."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                      f"Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
                      ).encode())
        while not stop.is_set():
            if select.select([sock], [], [], 0)[0]:
                early.append(sock.recv(4096))
                return
            try:
                sock.sendall(b"1\r\na\r\n")
            except OSError:  # the server refused the body: nothing holds it up any more
                return
            time.sleep(0.1)
        try:
            sock.sendall(b"0\r\n\r\n")
            sock.recv(4096)
        except OSError:
            pass


@pytest.mark.slow
@pytest.mark.parametrize(("path", "content_type"), [
    ("/customers/new", "application/x-www-form-urlencoded"),  # the CSRF guard reads forms
    ("/api/v1/customers", "application/json"),
    ("/integrations/zoho-crm/notifications/some-channel", "application/json"),
])
def test_healthz_stays_fast_while_a_body_trickles_in(
    live: LiveServer, path: str, content_type: str
) -> None:
    stop, early = threading.Event(), list[bytes]()
    uploader = threading.Thread(target=_trickle, args=(live.base_url, path, content_type,
                                                       stop, early), daemon=True)
    uploader.start()
    slowest = 0.0
    try:
        time.sleep(0.3)  # the upload has started
        deadline = time.monotonic() + TRICKLE_SECONDS
        with httpx.Client(base_url=live.base_url, timeout=10) as http:
            while time.monotonic() < deadline:
                started = time.monotonic()
                assert http.get("/healthz").status_code == 200
                slowest = max(slowest, time.monotonic() - started)
                time.sleep(0.1)
        # The server was still reading the body all along, or the test proved nothing.
        assert uploader.is_alive() and not early, early
    finally:
        stop.set()
        uploader.join(10)
    assert slowest < FAST, f"/healthz took {slowest:.2f} s during a slow upload to {path}"
