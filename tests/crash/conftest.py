"""Crash tests: a real ALIX process syncing with the emulator over HTTP, killed with SIGKILL.

The soak variant (tens of thousands of records, random kill points, both databases) is marked
`soak` and deselected unless ALIX_SOAK=1:

    ALIX_SOAK=1 .venv/bin/python -m pytest -p no:cacheprovider -q tests/crash -m soak
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from alix.bootstrap import Container, build_container
from alix.identity.tables import Role
from alix.web.app import create_app
from tests.integration.sync_pull.test_emulator import activate_customers
from tests.integration.zoho_settings.conftest import (
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    PUBLIC,
    connect,
)
from tests.support import TEST_SECRET, Account, login, make_account, make_settings
from zoho_emulator.testing import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
SOAK = os.environ.get("ALIX_SOAK") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: long crash runs, selected with ALIX_SOAK=1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SOAK:
        return
    soak = [item for item in items if item.get_closest_marker("soak")]
    if soak:
        config.hook.pytest_deselected(items=soak)
        items[:] = [item for item in items if not item.get_closest_marker("soak")]


@dataclass
class World:
    """The emulator, ALIX's database with a connected organisation, and how to start the
    process under test on it."""

    emu: EmulatorServer
    container: Container
    admin: Account
    env: dict[str, str]
    threshold: float
    log: list[str] = field(default_factory=list)

    def spawn(self, *args: str, timeout: float = 120,
              **extra: str) -> subprocess.CompletedProcess[str]:
        """Run tests/crash/worker.py to its end (or its SIGKILL); keeps its output for errors."""
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "tests.crash.worker", *args],
                              cwd=ROOT, env={**self.env, **extra}, capture_output=True,
                              text=True, timeout=timeout, check=False)
        self.log.append(f"$ worker {' '.join(args)} {extra} -> {done.returncode} in "
                        f"{time.monotonic() - started:.1f} s\n{done.stdout}\n{done.stderr[-3000:]}")
        return done


def world(engine: Engine, emu: EmulatorServer, threshold: float) -> Iterator[World]:
    url = engine.url.render_as_string(hide_password=False)
    settings = make_settings(url, zoho_client_id=CLIENT_ID, zoho_client_secret=CLIENT_SECRET,
                             zoho_accounts_url=emu.base_url, public_url=PUBLIC,
                             job_heartbeat_seconds=threshold)
    container = build_container(settings, engine=engine, with_runner=False)
    admin = make_account(container, "Acme Ltd", "admin@acme.example", Role.ADMIN)
    with TestClient(create_app(container), base_url=PUBLIC) as http:
        login(http, admin)
        connect(http, emu)
        from tests.integration.zoho_settings.conftest import Alix

        activate_customers(Alix(http, container, admin))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIX_")}
    env.update({
        "PYTHONPATH": str(ROOT), "ALIX_ENVIRONMENT": "test", "ALIX_DATABASE_URL": url,
        "ALIX_SECRET_KEY": TEST_SECRET, "ALIX_ZOHO_CLIENT_ID": CLIENT_ID,
        "ALIX_ZOHO_CLIENT_SECRET": CLIENT_SECRET, "ALIX_ZOHO_ACCOUNTS_URL": emu.base_url,
        "ALIX_PUBLIC_URL": PUBLIC, "ALIX_RUN_JOBS_IN_PROCESS": "false",
        "ALIX_JOB_HEARTBEAT_SECONDS": str(threshold),
    })
    yield World(emu, container, admin, env, threshold)


def emulator(accounts: int, contacts_per_account: int) -> EmulatorServer:
    return EmulatorServer(accounts=accounts, contacts_per_account=contacts_per_account,
                          register_clients=[(CLIENT_ID, CLIENT_SECRET, CALLBACK)])
