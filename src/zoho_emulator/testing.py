"""EmulatorServer: the emulator on a free 127.0.0.1 port in a background thread, for tests."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from .app import create_app
from .features import ATTRIBUTE, Features
from .seed import SeedSpec, seed_org
from .state import EmulatorState


class EmulatorServer:
    """`with EmulatorServer(accounts=10) as emu:` -> `emu.base_url`, `emu.state`, helpers.

    Several can run at once (e.g. a second data centre: its tokens are INVALID_TOKEN here).
    """

    def __init__(self, accounts: int = 0, contacts_per_account: int = 0,
                 addresses_per_account: int = 0, seed: int = 1, latency_ms: int = 0,
                 register_clients: list[tuple[str, str, str]] | None = None,
                 edition: str = "enterprise", state: EmulatorState | None = None) -> None:
        self.state = state or EmulatorState(edition=edition)
        self.state.faults.latency_ms = latency_ms
        for client_id, secret, uri in register_clients or []:
            self.state.tokens.register_client(client_id, secret, uri)
        if accounts:
            seed_org(self.state.default_org, SeedSpec(accounts, contacts_per_account,
                                                       addresses_per_account, seed),
                     self.state.now())
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.base_url = ""

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
        # The end of its life (stop/start keeps the state for outage tests): the callback
        # senders and bulk-read builders of its state, if it made any, stop too.
        made = getattr(self.state, ATTRIBUTE, None)
        if isinstance(made, Features):
            made.close()

    def start(self) -> None:
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when
        # the socket says it is TCP, and a proto-0 socket made Nagle plus delayed ACKs cost
        # keep-alive clients ~44 ms per request (the response goes out as two writes).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(create_app(self.state), log_level="warning", lifespan="off",
                                access_log=False, loop="asyncio", http="h11",
                                timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"zoho-emulator-{port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"The emulator on port {port} did not start.")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def control(self, path: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST to /__emulator__/{path}; raises on a non-2xx answer."""
        with httpx.Client(base_url=self.base_url, timeout=60) as client:
            response = client.post(f"/__emulator__/{path}", json=json or {})
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def self_client(self, org_id: str | None = None, user_id: str | None = None,
                    scope: str | None = None) -> dict[str, Any]:
        body = {k: v for k, v in (("org_id", org_id), ("user_id", user_id), ("scope", scope))
                if v is not None}
        return self.control("self-client", body)

    def access_token(self, org_id: str | None = None, user_id: str | None = None,
                     scope: str | None = None) -> str:
        """A fresh access token through the normal refresh grant."""
        creds = self.self_client(org_id, user_id, scope)
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            response = client.post("/oauth/v2/token", data={
                "grant_type": "refresh_token", "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
                "refresh_token": creds["refresh_token"]})
        body = response.json()
        if "access_token" not in body:
            raise RuntimeError(f"The emulator refused to refresh a token: {body}.")
        return str(body["access_token"])
