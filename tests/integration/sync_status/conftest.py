"""An ALIX app on both databases whose admin's organisation has a live Zoho connection, a fake
Zoho CRM and a hand-moved clock shared by the app, the fake and the pull."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from alix.bootstrap import Container, build_container
from alix.customers.service import sync_actor
from alix.identity.tables import Organisation
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.sync.engine.context import SyncContext
from alix.integrations.zoho_crm.sync.engine.pull import PullReport, run_pull
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_issues
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.jobs.tables import Job
from tests.integration.sync_pull.conftest import Clock
from tests.support import Account, csrf_of, login, make_settings
from tests.unit.sync.configuration import T0, configuration


def connect_org(session: Session, organisation_id: int) -> SyncScope:
    """A live connection for an existing organisation (as the Connect flow leaves it)."""
    connection = ZohoConnection(
        organisation_id=organisation_id, status="connected", location="us",
        accounts_url="https://accounts.zoho.com", api_domain="https://www.zohoapis.com",
        zoho_org_id="60012345", zoho_org_name="Acme Zoho", edition="Enterprise",
        zoho_user_id="5725767000000411001", zoho_user_name="Admin",
        zoho_user_email="admin@example.com", zoho_user_time_zone="UTC",
        scopes="ZohoCRM.modules.ALL", config_version=1, conflict_policy="ask",
        delete_crm_to_alix="ignore", delete_alix_to_crm="ignore", crm_schema={},
        created_at=T0,
    )
    session.add(connection)
    session.flush()
    return SyncScope(organisation_id, connection.id)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def container(backend: str, engine: Engine, clock: Clock) -> Iterator[Container]:
    """The app's container on the clock the fake and the pull use (overrides the root one)."""
    yield build_container(make_settings(str(engine.url.render_as_string(False))),
                          engine=engine, with_runner=False, clock=clock)


@dataclass
class Synced:
    """The admin's logged-in browser and the sync of its organisation."""

    http: TestClient
    container: Container
    admin: Account
    scope: SyncScope
    crm: FakeZohoCrm
    clock: Clock
    ctx: SyncContext

    def pull(self, *, initial: bool = False) -> PullReport:
        self.clock.advance(3)  # let Zoho's last second close
        return asyncio.run(run_pull(self.ctx, initial=initial))

    def zoho(self, module: str, *rows: Mapping[str, Any]) -> list[str]:
        ids = []
        for result in asyncio.run(self.crm.insert(module, rows)):
            assert hasattr(result, "id"), result
            ids.append(str(result.id))
        return ids

    def csrf(self) -> str:
        return csrf_of(self.http.get("/").text)  # the shell's log-out form

    def post(self, path: str) -> Any:
        return self.http.post(path, data={"csrf_token": self.csrf()}, follow_redirects=True)

    def api(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf(), "Accept": "application/json"}

    def issues(self, status: str = "open") -> list[Any]:
        with Session(self.container.engine) as s:
            return list(s.execute(select(zoho_sync_issues).where(
                zoho_sync_issues.c.connection_id == self.scope.connection_id,
                zoho_sync_issues.c.status == status).order_by(zoho_sync_issues.c.id)).all())

    def jobs(self, task: str) -> list[Job]:
        with Session(self.container.engine) as s:
            return list(s.scalars(select(Job).where(Job.task == task)).all())

    def add_currency(self, code: str) -> None:
        with self.container.session_factory.begin() as s:
            org = s.get(Organisation, self.scope.organisation_id)
            assert org is not None
            org.currencies = [*org.currencies, code]


@pytest.fixture
def synced(container: Container, client: TestClient, admin: Account, clock: Clock) -> Synced:
    sessions = container.session_factory
    with sessions.begin() as session:
        scope = connect_org(session, admin.organisation_id)
    with sessions.begin() as session:
        actor = sync_actor(session, scope.organisation_id, clock=clock)
    crm = FakeZohoCrm(clock=clock, modules=("Accounts", "Contacts", "Billing_Addresses"))
    ctx = SyncContext(scope, configuration(), crm, actor, sessions, clock)
    login(client, admin)
    return Synced(client, container, admin, scope, crm, clock, ctx)
