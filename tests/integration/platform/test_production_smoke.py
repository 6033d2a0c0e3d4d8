"""The production layout, smoke-tested: one web process and two `alix worker` processes on the
local PostgreSQL, with the emulator as Zoho CRM (scripts/production-smoke.sh runs this alone).

An initial sync started over the API runs on the workers; an edit made through the API is
pushed by them; `/readyz` sees the workers and `/metrics` counts what was pulled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from alix.db.session import unit_of_work
from alix.identity.service import create_api_token
from alix.identity.tables import User
from alix.jobs.workers import ensure_schema
from tests.crash.conftest import ROOT, emulator, world
from tests.live import free_port
from zoho_emulator.testing import EmulatorServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TOKEN = "metrics-token-" + "s" * 30
ACCOUNTS = 12


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with emulator(accounts=ACCOUNTS, contacts_per_account=1) as server:
        yield server


def _eventually(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}.")
        time.sleep(0.2)


def test_one_web_process_and_two_workers_sync_and_report(
    backend: str, engine: Engine, emu: EmulatorServer, tmp_path: Path
) -> None:
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE procrastinate_jobs, procrastinate_workers,"
                          " procrastinate_periodic_defers, procrastinate_events CASCADE"))
    smoke = next(world(engine, emu, 10.0))
    with unit_of_work(smoke.container.session_factory) as session:
        user = session.get(User, smoke.admin.user_id)
        assert user is not None
        api_token = create_api_token(session, user, "smoke")[1]
    port = free_port()
    env = {**smoke.env, "ALIX_JOBS_ENGINE": "procrastinate", "ALIX_METRICS_TOKEN": TOKEN,
           "ALIX_LOG_FORMAT": "json"}
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> None:
        with (tmp_path / f"{name}.log").open("wb") as log:
            started.append(subprocess.Popen([sys.executable, "-m", "alix.cli", *args], cwd=ROOT,
                                            env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True))

    base = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=base, timeout=30,
                       headers={"Authorization": f"Bearer {api_token}"})
    try:
        start("worker-1", "worker", "--name", "smoke-1")
        start("worker-2", "worker", "--name", "smoke-2")
        start("web", "serve", "--port", str(port))

        def ready() -> bool:
            try:
                return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        _eventually(ready, "/readyz (the web process up, a worker beating)")
        started_sync = api.post("/api/v1/integrations/zoho-crm/sync", json={"initial": True})
        assert started_sync.status_code == 202, started_sync.text

        def customers() -> list[dict[str, object]]:
            listed = api.get("/api/v1/customers", params={"limit": 100})
            assert listed.status_code == 200, listed.text
            body = listed.json()
            return list(body["items"])

        accounts = len(emu.state.default_org.store("Accounts").records)
        pulled = f'alix_sync_records_pulled_total{{module="Accounts"}} {accounts}.0'

        def scrape() -> str:
            metrics = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert metrics.status_code == 200, metrics.text
            return metrics.text

        _eventually(lambda: pulled in scrape(), f"the workers to pull {accounts} Accounts")
        # The generated CRM has Accounts ALIX skips or refuses (no currency, a shared name):
        # the pulled count, not the customers', says the import went to its end.
        first = customers()[0]
        renamed = api.patch(f"/api/v1/customers/{first['id']}", json={"name": "Smoke Test Inc"})
        assert renamed.status_code == 200, renamed.text
        store = emu.state.default_org.store("Accounts")
        _eventually(lambda: any(r.get("Account_Name") == "Smoke Test Inc"
                                for r in store.records.values()), "the push to the emulator")
        _eventually(lambda: 'alix_sync_pending_changes{direction="push"} 0.0' in scrape(),
                    "the outbox to drain")
        checks = httpx.get(f"{base}/readyz").json()["checks"]
        assert checks["job_workers"]["ok"] is True
    except BaseException:
        for log in sorted(tmp_path.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-4000:]}")
        raise
    finally:
        api.close()
        for process in started:
            os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
