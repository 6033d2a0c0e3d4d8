"""Serve a real ALIX over HTTP for browser and end-to-end tests (uvicorn on a free port)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from alix.bootstrap import Container, build_container
from alix.db import migrate
from alix.identity.tables import Role
from alix.web.app import create_app
from tests.support import Account, make_account, make_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A running ALIX: its URL, its container and an admin of its organisation."""

    base_url: str
    container: Container
    admin: Account


@contextmanager
def serve_alix(db_path: Path, **settings_overrides: object) -> Iterator[LiveServer]:
    """Migrate a SQLite file, create an admin, and serve the app until the block ends."""
    url = f"sqlite:///{db_path}"
    migrate.upgrade(url)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    overrides: dict[str, object] = {"public_url": base_url, "run_jobs_in_process": True}
    overrides.update(settings_overrides)
    container = build_container(make_settings(url, **overrides))
    admin = make_account(container, "Acme Ltd", "admin@acme.example", Role.ADMIN)
    config = uvicorn.Config(create_app(container), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("ALIX did not start for the browser tests")
        time.sleep(0.05)
    try:
        yield LiveServer(base_url, container, admin)
    finally:
        server.should_exit = True
        thread.join(10)
        container.close()
