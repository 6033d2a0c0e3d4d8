"""A connection, a fake Zoho CRM that counts its reads, and a sync context, on both backends;
customers are linked through the pull's own page function."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alix.clock import FrozenClock
from alix.customers.service import sync_actor
from alix.customers.tables import customers
from alix.db.session import make_session_factory, unit_of_work
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.client.wire import Record
from alix.integrations.zoho_crm.sync.engine.apply import pull_page
from alix.integrations.zoho_crm.sync.engine.context import SyncContext
from alix.integrations.zoho_crm.sync.engine.hints import HintOutcome, process_hints
from alix.integrations.zoho_crm.sync.engine.hints_echo import kinds_of_module
from alix.integrations.zoho_crm.sync.mapping import crm_fields
from alix.integrations.zoho_crm.sync.store.inbox import add_hints
from alix.integrations.zoho_crm.sync.store.tables import zoho_inbox
from tests.integration.sync_store.conftest import add_connection
from tests.unit.sync.configuration import T0, configuration

# The engine and the fake share one hand-moved clock.
Clock = FrozenClock


class CountingFake(FakeZohoCrm):
    """The fake, counting record reads by id (the only reads hints make)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.read_calls = 0
        self.records_read = 0

    async def get_records(
        self, module: str, ids: Sequence[str], fields: Sequence[str] = ()
    ) -> list[Record]:
        self.read_calls += 1
        found = await super().get_records(module, ids, fields)
        self.records_read += len(found)
        return found


@dataclass
class World:
    engine: Engine
    crm: CountingFake
    clock: Clock
    ctx: SyncContext

    def zoho_insert(self, module: str, *rows: Mapping[str, Any]) -> list[str]:
        results = asyncio.run(self.crm.insert(module, rows))
        return [str(r.id) for r in results]

    def zoho_update(self, module: str, zoho_id: str, **values: Any) -> None:
        self.clock.advance(2)
        [result] = asyncio.run(self.crm.update(module, [{"id": zoho_id, **values}]))
        assert hasattr(result, "id"), result

    def link_all(self, module: str, ids: Sequence[str]) -> None:
        """Import records as the pull does (creates ALIX rows and their links)."""
        kinds = kinds_of_module(self.ctx.config, module)
        fields = sorted({f for k in kinds for f in crm_fields(self.ctx.config, k)})
        records = asyncio.run(self.crm.get_records(module, ids, fields))
        with unit_of_work(self.ctx.sessions) as session:
            outcome = pull_page(session, self.ctx.scope, self.ctx.config, self.ctx.actor,
                                records, kinds, self.clock())
        assert outcome.counts["created"] == len(ids), outcome
        self.crm.read_calls = self.crm.records_read = 0

    def hint(self, module: str, operation: str,
             *hints: tuple[str, Mapping[str, Any] | None]) -> int:
        with unit_of_work(self.ctx.sessions) as session:
            return add_hints(session, self.ctx.scope, module, operation, hints, self.clock())

    def process(self) -> HintOutcome:
        self.clock.advance(1)
        return asyncio.run(process_hints(self.ctx))

    def customers(self) -> dict[str, Any]:
        with Session(self.engine) as s:
            return {r.name: r for r in s.execute(select(customers).where(
                customers.c.organisation_id == self.ctx.scope.organisation_id))}

    def pending(self) -> int:
        with Session(self.engine) as s:
            return len(s.execute(select(zoho_inbox.c.id).where(
                zoho_inbox.c.processed_at.is_(None))).all())


@pytest.fixture
def world(backend: str, engine: Engine) -> World:
    sessions = make_session_factory(engine)
    clock = Clock(T0)
    with sessions.begin() as session:
        scope = add_connection(session, "Acme Ltd")
    with sessions.begin() as session:
        actor = sync_actor(session, scope.organisation_id, clock=clock)
    crm = CountingFake(clock=clock, modules=("Accounts", "Contacts", "Billing_Addresses"))
    ctx = SyncContext(scope, configuration(), crm, actor, sessions, clock)
    return World(engine, crm, clock, ctx)
