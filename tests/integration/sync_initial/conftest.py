"""Two sync worlds in one database, each its own organisation, connection and fake Zoho CRM
holding the same records: one imported by the initial import's fast path, one by the normal
path (an incremental pull from nothing), so their results can be compared row for row."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from alix.customers.service import sync_actor
from alix.db.session import make_session_factory
from alix.integrations.zoho_crm.client.wire import Record
from alix.integrations.zoho_crm.sync.engine.context import SyncContext
from tests.integration.sync_pull.conftest import Clock, CountingFake, World
from tests.integration.sync_store.conftest import add_connection
from tests.unit.sync.configuration import T0, configuration


def world_named(engine: Engine, name: str, fake: type[CountingFake] = CountingFake) -> World:
    """make_world for an organisation of another name, with a fake of the type given."""
    sessions = make_session_factory(engine)
    clock = Clock(T0)
    with sessions.begin() as session:
        scope = add_connection(session, name)
    with sessions.begin() as session:
        actor = sync_actor(session, scope.organisation_id, clock=clock)
    crm = fake(clock=clock, modules=("Accounts", "Contacts", "Billing_Addresses"))
    config = configuration()
    ctx = SyncContext(scope, config, crm, actor, sessions, clock)
    return World(engine, scope, crm, clock, config, ctx)


class FailingFake(CountingFake):
    """The fake, whose record reads fail once `fail_after` records have been handed out in
    one read: the process dies in the middle of a page (what a kill does to the run)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail_after: int | None = None

    async def iter_records(  # type: ignore[override]
        self, module: str, fields: Sequence[str], *, modified_since: datetime | None = None
    ) -> AsyncIterator[Record]:
        handed = 0
        async for record in super().iter_records(module, fields, modified_since=modified_since):
            if self.fail_after is not None and handed >= self.fail_after:
                raise ConnectionError("the process died here")
            handed += 1
            yield record
