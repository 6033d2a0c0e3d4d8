"""A database with one organisation and its connection, a fake Zoho CRM, and a sync context
over them (the configuration of the core's tests), on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from alix.clock import FrozenClock
from alix.customers.service import sync_actor
from alix.customers.tables import addresses, contact_persons, customer_outbox, customers
from alix.db.session import make_session_factory
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.client.wire import Record
from alix.integrations.zoho_crm.config import SyncConfiguration
from alix.integrations.zoho_crm.sync.engine.context import SyncContext
from alix.integrations.zoho_crm.sync.engine.pull import PullReport, run_pull
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.store.tables import zoho_links, zoho_sync_issues
from tests.integration.sync_store.conftest import add_connection
from tests.unit.sync.configuration import T0, configuration

# The engine and the fake share one hand-moved clock.
Clock = FrozenClock


class CountingFake(FakeZohoCrm):
    """The fake, counting the records it hands out: cost follows change."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.records_read = 0

    async def iter_records(  # type: ignore[override]
        self, module: str, fields: Sequence[str], *, modified_since: datetime | None = None
    ) -> AsyncIterator[Record]:
        async for record in super().iter_records(module, fields, modified_since=modified_since):
            self.records_read += 1
            yield record

    async def get_records(
        self, module: str, ids: Sequence[str], fields: Sequence[str] = ()
    ) -> list[Record]:
        found = await super().get_records(module, ids, fields)
        self.records_read += len(found)
        return found


@dataclass
class World:
    """Everything a pull test touches."""

    engine: Engine
    scope: SyncScope
    crm: CountingFake
    clock: Clock
    config: SyncConfiguration
    ctx: SyncContext
    reports: list[PullReport] = field(default_factory=list)

    def pull(self, *, initial: bool = False, settle: float = 3, **kwargs: Any) -> PullReport:
        """Let Zoho's last second close, then run a pull."""
        self.clock.advance(settle)
        report = asyncio.run(run_pull(self.ctx, initial=initial, **kwargs))
        self.reports.append(report)
        return report

    def zoho(self, module: str, *rows: Mapping[str, Any]) -> list[str]:
        """Insert records into the fake Zoho; their ids."""
        results = asyncio.run(self.crm.insert(module, rows))
        ids = []
        for result in results:
            assert hasattr(result, "id"), result
            ids.append(str(result.id))
        return ids

    def rows(self, table: Any, *where: Any) -> list[Any]:
        with Session(self.engine) as s:
            return list(s.execute(select(table).where(
                table.c.organisation_id == self.scope.organisation_id, *where)).all())

    def count(self, table: Any, *where: Any) -> int:
        with Session(self.engine) as s:
            return int(s.execute(select(func.count()).select_from(table).where(
                table.c.organisation_id == self.scope.organisation_id, *where)).scalar_one())

    def customers(self) -> dict[str, Any]:
        return {r.name: r for r in self.rows(customers)}

    def rows_by_id(self) -> dict[int, Any]:
        return {r.id: r for r in self.rows(customers)}

    def contacts(self) -> list[Any]:
        return self.rows(contact_persons)

    def addresses(self) -> list[Any]:
        return self.rows(addresses)

    def links(self) -> list[Any]:
        return self.rows(zoho_links)

    def issues(self, status: str = "open") -> list[Any]:
        return self.rows(zoho_sync_issues, zoho_sync_issues.c.status == status)

    def outbox(self) -> list[Any]:
        return self.rows(customer_outbox)

    def outbox_in(self, session: Session) -> list[Any]:
        return list(session.execute(select(customer_outbox)).all())


def make_world(engine: Engine, config: SyncConfiguration | None = None) -> World:
    sessions = make_session_factory(engine)
    clock = Clock(T0)
    with sessions.begin() as session:
        scope = add_connection(session, "Acme Ltd")
    with sessions.begin() as session:
        actor = sync_actor(session, scope.organisation_id, clock=clock)
    crm = CountingFake(clock=clock, modules=("Accounts", "Contacts", "Billing_Addresses"))
    config = config or configuration()
    ctx = SyncContext(scope, config, crm, actor, sessions, clock)
    return World(engine, scope, crm, clock, config, ctx)


@pytest.fixture
def world(backend: str, engine: Engine) -> World:
    return make_world(engine)
