"""Processing Zoho's notifications records a real-time run, started by a Zoho notification,
with its counts, when it applies a record; a drain of echoes and deletions alone records none,
and one stopped by a Zoho error records its failure."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alix.integrations.zoho_crm.client.errors import ServerError
from alix.integrations.zoho_crm.sync.engine.hints import process_hints
from alix.integrations.zoho_crm.sync.store import runs as run_store
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_runs
from tests.integration.sync_hints.conftest import World

ACME = {"Account_Name": "Acme", "Currency": "CAD", "Phone": "111"}


def _runs(world: World) -> list[run_store.Run]:
    scope = world.ctx.scope
    with Session(world.engine) as session:
        ids = session.scalars(select(zoho_sync_runs.c.id).where(
            zoho_sync_runs.c.connection_id == scope.connection_id)).all()
        return [run_store.get_run(session, scope, int(i)) for i in ids]


def test_applied_hints_record_a_realtime_run_started_by_a_notification(world: World) -> None:
    [acme] = world.zoho_insert("Accounts", ACME)
    world.link_all("Accounts", [acme])
    [globex] = world.zoho_insert("Accounts", {"Account_Name": "Globex", "Currency": "CAD"})
    world.zoho_update("Accounts", acme, Phone="222")
    world.hint("Accounts", "update", (acme, {"Phone": "222"}))
    world.hint("Accounts", "insert", (globex, None))
    world.process()

    [run] = _runs(world)
    assert run.kind is run_store.RunKind.REALTIME
    assert run.started_by == run_store.Starter.NOTIFICATION.value
    assert run.status is run_store.RunStatus.SUCCEEDED and run.finished_at is not None
    assert (run.counts["created"], run.counts["updated"]) == (1, 1), run.counts
    assert run.progress["Accounts"].done == 2


def test_echoes_and_deletions_alone_record_no_run(world: World) -> None:
    [acme, globex] = world.zoho_insert(
        "Accounts", ACME, {"Account_Name": "Globex", "Currency": "CAD"})
    world.link_all("Accounts", [acme, globex])
    world.hint("Accounts", "update", (acme, {"Phone": " 111 ", "Account_Name": "Acme"}))
    world.hint("Accounts", "delete", (globex, None))
    world.hint("Leads", "update", ("999", {"Last_Name": "X"}))
    asyncio.run(process_hints(world.ctx, on_delete=lambda *_: None))
    assert world.pending() == 0
    assert _runs(world) == []
    world.process()  # an empty inbox: nothing either
    assert _runs(world) == []


def test_a_drain_stopped_by_zoho_records_its_failure(world: World) -> None:
    [acme, globex] = world.zoho_insert(
        "Accounts", ACME, {"Account_Name": "Globex", "Currency": "CAD"})
    world.link_all("Accounts", [acme])
    world.hint("Accounts", "insert", (globex, None))
    world.hint("Contacts", "insert", ("777", None))
    original = world.crm.get_records
    calls = 0

    async def second_read_fails(module: str, ids: object, fields: object = ()) -> object:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ServerError("Zoho CRM did not answer.")
        return await original(module, ids, fields)  # type: ignore[arg-type]

    world.crm.get_records = second_read_fails  # type: ignore[assignment,method-assign]
    with pytest.raises(ServerError):
        world.process()
    [run] = _runs(world)
    assert run.status is run_store.RunStatus.FAILED
    assert run.error is not None and "Zoho CRM did not answer" in run.error
    assert run.counts["created"] == 1, run.counts  # the Accounts applied before it stopped
