"""The logs of a whole sync over HTTP (connect, initial pull, hints, push): the ids of the work
on every sync line, and never a token, a client secret or a password; its API calls counted."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alix.db.session import unit_of_work
from alix.identity.service import create_api_token
from alix.identity.tables import User
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_runs
from alix.web.metrics import PROCESS_REGISTRY
from tests.integration.platform.logcapture import captured_logs
from tests.integration.sync_hints.test_live import (  # the live world and its steps
    CLIENT_SECRET,
    _api,
    _as_seller,
    _csrf,
    _customer,
    _pushed,
    _settled,
    eventually,
    world,
)
from tests.live import LiveServer
from zoho_emulator.testing import EmulatorServer

__all__ = ["world"]

ZOHO_TOKEN = re.compile(r"1000\.[0-9a-f]{16,}\.[0-9a-f]{16,}")


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    # DEBUG: ALIX's and the HTTP client's request lines too (libraries' internals aside).
    with captured_logs("DEBUG") as out:
        yield out


@pytest.mark.slow
def test_a_full_sync_logs_ids_and_no_secret(
    logs: io.StringIO, world: tuple[LiveServer, EmulatorServer, httpx.Client]
) -> None:
    live, emu, http = world
    with unit_of_work(live.container.session_factory) as session:
        user = session.get(User, live.admin.user_id)
        assert user is not None
        api_token = create_api_token(session, user, "logs")[1]
    calls_before = PROCESS_REGISTRY.get_sample_value("alix_zoho_api_calls_total") or 0
    started = _api(http, "POST", "/sync", {"initial": True})
    assert started.status_code == 202, started.text
    with _as_seller(emu) as crm:
        created = crm.post("/Accounts", json={"data": [
            {"Account_Name": "Maple Syrup Co", "Currency": "CAD"}]})
        assert created.status_code == 201, created.text
    customer = eventually(lambda: _customer(live, "Maple Syrup Co"), "the hinted customer")
    renamed = httpx.patch(f"{live.base_url}/api/v1/customers/{customer.id}",
                          json={"name": "Maple Syrup Inc"},
                          headers={"Authorization": f"Bearer {api_token}"})
    assert renamed.status_code == 200, renamed.text
    eventually(lambda: True if _pushed(live) else None, "the push to finish")
    eventually(lambda: True if _settled(live, emu) else None, "the echo to settle")
    assert _csrf(http)

    # The clients the jobs opened counted their calls into this process's metrics.
    calls = PROCESS_REGISTRY.get_sample_value("alix_zoho_api_calls_total") or 0
    assert calls - calls_before >= 3  # at least the pull's, the hint's fetch and the push's

    text = logs.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert len(lines) > 10
    assert ZOHO_TOKEN.search(text) is None
    for secret in (CLIENT_SECRET, live.admin.password, api_token, api_token[5:]):
        assert secret not in text
    sync_lines = [line for line in lines if str(line["logger"]).startswith(
        ("alix.jobs.runner", "alix.integrations.zoho_crm.sync"))]
    assert {line["task"] for line in sync_lines} >= {"zoho_crm.pull", "zoho_crm.push",
                                                     "zoho_crm.hints"}
    for line in sync_lines:
        assert isinstance(line["job_id"], int), line
        assert isinstance(line["timestamp"], str), line
        if line["task"] == "zoho_crm.sweep":  # the sweep serves every connection at once
            continue
        # Every job of a connection names its organisation too, hints and channels included
        # (queued with their connection only, they learn it when they open the connection).
        assert line.get("organisation_id") == live.admin.organisation_id, line
        assert isinstance(line.get("connection_id"), int), line
    # A pull records a run: from its start, its lines name it.
    pulls = [line for line in sync_lines if line["task"] == "zoho_crm.pull"]
    assert pulls and all(isinstance(line.get("run_id"), int) for line in pulls), pulls
    # So do a push that sends and a hints job that applies a record; one that found nothing
    # to do (the echo of the push) records no run, so none of its lines names one.
    runs = _run_kinds(live)
    for task, kind in (("zoho_crm.push", "push"), ("zoho_crm.hints", "realtime")):
        by_job: dict[int, list[object]] = {}
        for line in sync_lines:
            if line["task"] == task:
                by_job.setdefault(line["job_id"], []).append(line.get("run_id"))
        named = {job: ids for job, ids in by_job.items() if any(ids)}
        assert named, (task, by_job)
        for ids in named.values():
            assert all(isinstance(i, int) and runs.get(i) == kind for i in ids), (task, ids)


def _run_kinds(live: LiveServer) -> dict[int, str]:
    with Session(live.container.engine) as session:
        return {int(r.id): str(r.kind) for r in session.execute(
            select(zoho_sync_runs.c.id, zoho_sync_runs.c.kind))}
