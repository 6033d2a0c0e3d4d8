"""End to end over real HTTP: Details' settings, the initial sync job started by the API, the
emulator's seeded accounts in ALIX, then an incremental run that reads nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alix.bootstrap import Container
from alix.customers.tables import contact_persons, customers
from alix.integrations.zoho_crm.sync.engine.runs import pull_task
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_issues
from alix.jobs.queue import TaskContext
from alix.jobs.tables import Job
from tests.integration.zoho_settings.conftest import (
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    Alix,
    alix,
    api_headers,
    connect,
    zoho_container,
)
from zoho_emulator.testing import EmulatorServer

API = "/api/v1/integrations/zoho-crm"
ACCOUNTS = 36


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(accounts=ACCOUNTS, contacts_per_account=2,
                        register_clients=[(CLIENT_ID, CLIENT_SECRET, CALLBACK)]) as server:
        yield server


def _call(alix: Alix, method: str, path: str, body: Any = None) -> Any:
    return alix.http.request(method, API + path, json=body, headers=api_headers(alix.http))


def activate_customers(alix: Alix) -> None:
    """Map Currency (the suggestion fills it in) and switch Customers on."""
    row = _call(alix, "POST", "/mappers/customer/rows").json()["id"]
    assert _call(alix, "PATCH", f"/mappers/customer/rows/{row}",
                 {"alix_field": "currency"}).status_code == 200
    assert _call(alix, "PATCH", "/modules/customers", {"active": True}).status_code == 200


def run_job(container: Container, job_id: int) -> Job:
    """What the runner does with the queued job, in this thread."""
    with Session(container.engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        payload, org = dict(job.payload), job.organisation_id
    task = TaskContext(job_id, org, payload, container.session_factory, container.clock,
                       container.queue)
    asyncio.run(pull_task(task, container.zoho))
    with Session(container.engine) as session:
        done = session.get(Job, job_id)
        assert done is not None
        session.expunge(done)
        return done


def _reads(emu: EmulatorServer) -> int:
    calls = emu.control("stats")["calls"]
    return sum(n for name, n in calls.items()
               if name.startswith("GET ") and ("/Accounts" in name or "/Contacts" in name)
               and "deleted" not in name and "count" not in name)


__all__ = ["alix", "zoho_container"]  # the settings tests' fixtures, used here too


def test_initial_sync_then_nothing_to_read(
    alix: Alix, emu: EmulatorServer, backend: str
) -> None:
    connect(alix.http, emu)
    refused = _call(alix, "POST", "/sync", {})
    assert refused.status_code == 409 and "Activate Customers" in refused.text
    activate_customers(alix)
    started = _call(alix, "POST", "/sync", {})
    assert started.status_code == 202, started.text
    job = run_job(alix.container, started.json()["job_id"])
    assert job.progress_total is not None and job.progress_total >= ACCOUNTS
    assert job.progress_done == job.progress_total
    assert "done" in job.progress_message
    with Session(alix.container.engine) as session:
        org = alix.admin.organisation_id
        imported = session.execute(select(func.count()).select_from(customers).where(
            customers.c.organisation_id == org)).scalar_one()
        people = session.execute(select(func.count()).select_from(contact_persons).where(
            contact_persons.c.organisation_id == org)).scalar_one()
        rejected = [r.message for r in session.execute(select(zoho_sync_issues).where(
            zoho_sync_issues.c.kind == "customer", zoho_sync_issues.c.status == "open")).all()]
    # Acme Ltd has CAD, USD and EUR: Accounts in GBP are open issues saying so, not imports.
    assert rejected and all("GBP is not one of your organisation's currencies" in m
                            for m in rejected)
    assert imported + len(rejected) == ACCOUNTS
    assert people >= ACCOUNTS  # contacts with an Account; those without are not imported
    listed = alix.http.get("/customers")
    assert listed.status_code == 200
    before = _reads(emu)
    again = _call(alix, "POST", "/sync", {"initial": False})
    job = run_job(alix.container, again.json()["job_id"])
    assert "nothing changed" in job.progress_message
    # Zoho answered 304 to each module's one conditional read: no record came back.
    assert _reads(emu) - before <= 2


def test_the_cli_syncs_and_respects_the_connection_lane(
    alix: Alix, emu: EmulatorServer, backend: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from alix.cli import main
    from alix.integrations.zoho_crm.repository import connected
    from alix.integrations.zoho_crm.sync.engine.context import lane_key
    from alix.jobs.lease import LeaseStore
    from tests.integration.zoho_settings.conftest import PUBLIC
    from tests.support import TEST_SECRET

    connect(alix.http, emu)
    activate_customers(alix)
    settings = alix.container.settings
    for name, value in {
        "ALIX_DATABASE_URL": settings.database_url, "ALIX_SECRET_KEY": TEST_SECRET,
        "ALIX_ZOHO_CLIENT_ID": CLIENT_ID, "ALIX_ZOHO_CLIENT_SECRET": CLIENT_SECRET,
        "ALIX_ZOHO_ACCOUNTS_URL": emu.base_url, "ALIX_PUBLIC_URL": PUBLIC,
    }.items():
        monkeypatch.setenv(name, value)
    with Session(alix.container.engine) as session:
        connection_id = connected(session, alix.admin.organisation_id).id
    leases = LeaseStore(alix.container.engine)
    assert leases.acquire(lane_key(connection_id), "web-runner", 60)
    assert main(["sync", "--org", "Acme Ltd", "--initial"]) == 1  # refused, not run twice
    assert "Another sync" in capsys.readouterr().err
    leases.release(lane_key(connection_id), "web-runner")

    assert main(["sync", "--org", "Acme Ltd", "--initial"]) == 0
    assert "Zoho CRM sync of Acme Ltd done" in capsys.readouterr().out
    with Session(alix.container.engine) as session:
        imported = session.execute(select(func.count()).select_from(customers).where(
            customers.c.organisation_id == alix.admin.organisation_id)).scalar_one()
    assert imported > 0
    assert leases.acquire(lane_key(connection_id), "web-runner", 60), "the CLI released it"


def test_a_large_module_is_imported_through_bulk_read(
    alix: Alix, emu: EmulatorServer, backend: str
) -> None:
    """Above the threshold the initial sync exports Accounts and Contacts as CSV (bulk read)
    instead of listing their pages, and imports the same: every Account but the rejected."""
    from dataclasses import replace

    alix.container.zoho = replace(alix.container.zoho, bulk_read_above=10)
    connect(alix.http, emu)
    activate_customers(alix)
    before = emu.control("stats")["calls"]
    started = _call(alix, "POST", "/sync", {})
    job = run_job(alix.container, started.json()["job_id"])
    assert "done" in job.progress_message, job.progress_message
    calls = emu.control("stats")["calls"]
    made = {name: n - before.get(name, 0) for name, n in calls.items()}
    assert made.get("POST bulk/read") == 2, made  # one export per module
    assert not made.get("GET {module}"), "no page of records was listed"
    with Session(alix.container.engine) as session:
        org = alix.admin.organisation_id
        imported = session.execute(select(func.count()).select_from(customers).where(
            customers.c.organisation_id == org)).scalar_one()
        rejected = session.execute(select(func.count()).select_from(zoho_sync_issues).where(
            zoho_sync_issues.c.kind == "customer",
            zoho_sync_issues.c.status == "open")).scalar_one()
    assert imported + rejected == ACCOUNTS and imported > 0
