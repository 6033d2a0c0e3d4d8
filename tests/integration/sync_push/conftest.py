"""A connected organisation with the Customers module on, the fake Zoho CRM, and a run helper."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from alix.customers.domain import Actor, Origin
from alix.db.session import make_session_factory, unit_of_work
from alix.identity.service import create_organisation, create_user
from alix.integrations.zoho_crm import repository
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.mappers import MapperKind, ModuleKind
from alix.integrations.zoho_crm.rules import ConflictPolicy, DeletePolicy, ModuleState, Row
from alix.integrations.zoho_crm.schema import HOME_CURRENCY
from alix.integrations.zoho_crm.sync.engine.context import open_context
from alix.integrations.zoho_crm.sync.engine.push import PAGE_SIZE, PushReport, push
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.tables import ZohoConnection

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
USER_ID = "5725767000000411001"


def _field(name: str, data_type: str = "text", **rest: object) -> dict[str, object]:
    return {"api_name": name, "label": name.replace("_", " "), "data_type": data_type, **rest}


SCHEMA = {
    "multi_currency": False,
    "home_currency": "CAD",
    "modules": [
        {"api_name": "Accounts", "label": "Accounts", "custom": False, "fields": [
            _field("Account_Name", system_mandatory=True), _field("Website", "website"),
            _field("Phone", "phone"), _field("Active", "boolean"),
            _field("Billing_Street", "textarea"), _field("Billing_City"),
            _field("Billing_State"), _field("Billing_Code"), _field("Billing_Country"),
        ]},
        {"api_name": "Contacts", "label": "Contacts", "custom": False, "fields": [
            _field("Last_Name", system_mandatory=True), _field("First_Name"),
            _field("Email", "email"), _field("Phone", "phone"),
            _field("Account_Name", "lookup", lookup_module="Accounts"),
        ]},
    ],
}

ROWS = [
    (MapperKind.CUSTOMER, "currency", HOME_CURRENCY), (MapperKind.CUSTOMER, "website", "Website"),
    (MapperKind.CUSTOMER, "phone", "Phone"), (MapperKind.CONTACT, "first_name", "First_Name"),
    (MapperKind.MAIN_BILLING, "street", "Billing_Street"),
    (MapperKind.MAIN_BILLING, "city", "Billing_City"),
    (MapperKind.MAIN_BILLING, "province", "Billing_State"),
    (MapperKind.MAIN_BILLING, "postal_code", "Billing_Code"),
    (MapperKind.MAIN_BILLING, "country", "Billing_Country"),
]


class Clock:
    """A clock the test moves; Zoho's fake reads the same one."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 5) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class World:
    sessions: sessionmaker[Session]
    scope: SyncScope
    actor: Actor
    crm: ZohoCrm
    clock: Clock

    async def push(self, page_size: int = PAGE_SIZE) -> PushReport:
        self.clock.tick()

        @asynccontextmanager
        async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
            yield self.crm

        async with open_context(self.sessions, self.scope.connection_id, factory,
                                self.clock) as ctx:
            report = await push(ctx, page_size=page_size)
        self.clock.tick()
        return report


def connect(sessions: sessionmaker[Session], clock: Clock, *,
            active_field: bool = False, billing: bool = True,
            delete_policy: DeletePolicy = DeletePolicy.MARK_INACTIVE,
            conflict_policy: ConflictPolicy | None = None,
            schema: dict[str, object] | None = None) -> tuple[SyncScope, Actor]:
    """An organisation (with a user) whose Zoho connection syncs customers and contacts."""
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
            delete_alix_to_crm=delete_policy.value, crm_schema=schema or SCHEMA,
            created_at=clock(),
        )
        session.add(connection)
        session.flush()
        repository.create_configuration(session, connection)
        connection.delete_alix_to_crm = delete_policy.value
        if conflict_policy is not None:
            connection.conflict_policy = conflict_policy.value
        rows = list(ROWS) + ([(MapperKind.CUSTOMER, "is_active", "Active")] if active_field
                             else [])
        for mapper, alix, crm in rows:
            repository.insert_row(session, connection, Row(None, mapper, alix, crm))
        repository.save_module(session, connection, ModuleState(ModuleKind.CUSTOMERS, True))
        if billing:
            repository.save_module(session, connection,
                                   ModuleState(ModuleKind.MAIN_BILLING, True))
        return SyncScope(org.id, connection.id), Actor(org.id, user.id, Origin.USER)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(backend: str, engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def fake(clock: Clock) -> FakeZohoCrm:
    return FakeZohoCrm(clock=clock)


@pytest.fixture
def world(sessions: sessionmaker[Session], fake: FakeZohoCrm, clock: Clock) -> Iterator[World]:
    scope, actor = connect(sessions, clock)
    yield World(sessions, scope, actor, fake, clock)
