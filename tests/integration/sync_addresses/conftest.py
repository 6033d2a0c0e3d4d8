"""A connection whose four address modules are set up through Details' service (the rules and
activation a person goes through), the fake Zoho CRM recording every write, and pull and push
helpers over one hand-moved clock, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from alix.clock import FrozenClock
from alix.customers.domain import Actor, Origin
from alix.customers.tables import addresses
from alix.db.session import make_session_factory, unit_of_work
from alix.identity.service import create_organisation, create_user
from alix.integrations.zoho_crm import repository, service
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.client.wire import WriteResult
from alix.integrations.zoho_crm.mappers import MapperKind, ModuleKind
from alix.integrations.zoho_crm.sync.engine.context import open_context
from alix.integrations.zoho_crm.sync.engine.pull import PullReport, run_pull
from alix.integrations.zoho_crm.sync.engine.push import PushReport, push
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.store.tables import zoho_links, zoho_sync_issues
from alix.integrations.zoho_crm.tables import ZohoConnection
from tests.integration.sync_push.conftest import SCHEMA, T0, USER_ID, _field

PLACE = ("street", "city", "country", "province", "postal_code")
CUSTOM = ("Billing_Addresses", "Shipping_Addresses")


def _address_module(name: str) -> dict[str, object]:
    return {"api_name": name, "label": name.replace("_", " "), "custom": True, "fields": [
        _field("Name", system_mandatory=True), _field("Street", "textarea"), _field("City"),
        _field("Province"), _field("Postal_Code"), _field("Country"),
        _field("Default", "boolean"), _field("Account", "lookup", lookup_module="Accounts"),
    ]}


def _schema() -> dict[str, Any]:
    modules: list[Any] = [dict(m) for m in SCHEMA["modules"]]  # type: ignore[attr-defined]
    accounts = modules[0]
    accounts["fields"] = [*accounts["fields"], _field("Shipping_Street", "textarea"),
                          *(_field(f"Shipping_{n}") for n in ("City", "State", "Code",
                                                               "Country"))]
    return {**SCHEMA, "modules": [*modules, *(_address_module(m) for m in CUSTOM)]}


class RecordingFake(FakeZohoCrm):
    """The fake Zoho, keeping every record it was asked to write: (module, payload)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.writes: list[tuple[str, dict[str, Any]]] = []

    async def insert(self, module: str, records: Sequence[Mapping[str, Any]],
                     **kwargs: Any) -> list[WriteResult]:
        self.writes.extend((module, dict(r)) for r in records)
        return await super().insert(module, records, **kwargs)

    async def update(self, module: str, records: Sequence[Mapping[str, Any]],
                     **kwargs: Any) -> list[WriteResult]:
        self.writes.extend((module, dict(r)) for r in records)
        return await super().update(module, records, **kwargs)


def _configure(session: Session, organisation_id: int) -> None:
    """What a person does on Details: Currency, the four address mappers, the toggles."""
    def row(mapper: MapperKind, alix_field: str) -> None:
        added = service.add_row(session, organisation_id, mapper)
        service.edit_row(session, organisation_id, mapper, int(added.id or 0),
                         {"alix_field": alix_field})

    row(MapperKind.CUSTOMER, "currency")
    service.update_module(session, organisation_id, ModuleKind.CUSTOMERS, {"active": True})
    for kind in (ModuleKind.MAIN_BILLING, ModuleKind.MAIN_SHIPPING):
        for name in PLACE:
            row(MapperKind(kind.value), name)
        service.update_module(session, organisation_id, kind, {"active": True})
    for kind, crm_module in zip((ModuleKind.BILLING, ModuleKind.SHIPPING), CUSTOM, strict=True):
        service.update_module(session, organisation_id, kind, {"crm_module": crm_module})
        for name in (*PLACE, "is_main", "label"):
            row(MapperKind(kind.value), name)
        service.update_module(session, organisation_id, kind, {"active": True})


@dataclass
class World:
    engine: Engine
    sessions: sessionmaker[Session]
    scope: SyncScope
    actor: Actor
    crm: RecordingFake
    clock: FrozenClock
    reports: list[PullReport | PushReport] = field(default_factory=list)

    @asynccontextmanager
    async def _crm(self, _connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        yield self.crm

    def pull(self) -> PullReport:
        self.clock.advance(3)  # let Zoho's last second close

        async def run() -> PullReport:
            async with open_context(self.sessions, self.scope.connection_id, self._crm,
                                    self.clock) as ctx:
                return await run_pull(ctx)

        report = asyncio.run(run())
        self.reports.append(report)
        return report

    def push(self) -> PushReport:
        self.clock.advance(3)

        async def run() -> PushReport:
            async with open_context(self.sessions, self.scope.connection_id, self._crm,
                                    self.clock) as ctx:
                return await push(ctx)

        report = asyncio.run(run())
        self.reports.append(report)
        return report

    def zoho(self, module: str, *rows: Mapping[str, Any]) -> list[str]:
        results = asyncio.run(self.crm.insert(module, rows))
        self.crm.writes.clear()  # the test's own writes are not the sync's
        return [str(getattr(r, "id")) for r in results]  # noqa: B009 - WriteSuccess only

    def addresses(self) -> list[Any]:
        with Session(self.engine) as s:
            return list(s.execute(select(addresses).where(
                addresses.c.organisation_id == self.scope.organisation_id)
                .order_by(addresses.c.id)).all())

    def links(self, kind: str) -> dict[str, int]:
        """Zoho id -> ALIX id of one link kind."""
        with Session(self.engine) as s:
            return {r.zoho_id: r.alix_id for r in s.execute(select(zoho_links).where(
                zoho_links.c.connection_id == self.scope.connection_id,
                zoho_links.c.kind == kind)).all()}

    def open_issues(self) -> list[Any]:
        with Session(self.engine) as s:
            return list(s.execute(select(zoho_sync_issues).where(
                zoho_sync_issues.c.connection_id == self.scope.connection_id,
                zoho_sync_issues.c.status == "open")).all())


@pytest.fixture
def world(backend: str, engine: Engine) -> World:
    sessions = make_session_factory(engine)
    clock = FrozenClock(T0)
    with unit_of_work(sessions) as session:
        org = create_organisation(session, "Acme Ltd", ["CAD"], clock=clock)
        user = create_user(session, org, "admin@acme.example", "correct horse battery",
                           clock=clock)
        connection = ZohoConnection(
            organisation_id=org.id, status="connected", location="us",
            accounts_url="https://accounts.zoho.com", api_domain="https://www.zohoapis.com",
            zoho_org_id="60012345", zoho_org_name="Acme", edition="Enterprise",
            zoho_user_id=USER_ID, zoho_user_name="Admin", zoho_user_email="admin@example.com",
            zoho_user_time_zone="UTC", scopes="ZohoCRM.modules.ALL", config_version=1,
            conflict_policy="ask", delete_crm_to_alix="mark_inactive",
            delete_alix_to_crm="delete", crm_schema=_schema(), created_at=clock(),
        )
        session.add(connection)
        session.flush()
        repository.create_configuration(session, connection)
        scope = SyncScope(org.id, connection.id)
        actor = Actor(org.id, user.id, Origin.USER)
    with unit_of_work(sessions) as session:
        _configure(session, scope.organisation_id)
    crm = RecordingFake(clock=clock, modules=("Accounts", "Contacts", *CUSTOM))
    return World(engine, sessions, scope, actor, crm, clock)
