"""An administrator of a connected organisation in the browser, the app's fake Zoho CRM, and
the helpers the panel, conflicts and preview tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import update
from starlette.testclient import TestClient

from alix.bootstrap import Container
from alix.customers.domain import NewCustomer
from alix.customers.service import create_customer
from alix.db.session import unit_of_work
from alix.identity.tables import Role, User
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.rules import ConflictPolicy
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.web.app import create_app
from tests.integration.sync_push.conftest import Clock, World, connect
from tests.support import Account, csrf_of, login

ZOHO_URL = "https://crm.zoho.com/crm/org60012345/tab/Accounts/"


def world_of(container: Container, policy: ConflictPolicy = ConflictPolicy.CRM_WINS
             ) -> tuple[World, FakeZohoCrm]:
    """A connected organisation whose user is an administrator, and the app's fake Zoho."""
    clock = Clock()
    fake = FakeZohoCrm(clock=clock)
    sessions = container.session_factory
    world = World(sessions, *connect(sessions, clock, conflict_policy=policy), fake, clock)
    make_admin(container, world.actor.user_id)

    @asynccontextmanager
    async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        yield fake

    container.use_zoho(crm_factory=factory)
    return world, fake


def make_admin(container: Container, user_id: int) -> None:
    with unit_of_work(container.session_factory) as session:
        session.execute(update(User).where(User.id == user_id).values(role=Role.ADMIN.value))


def browser(container: Container, world: World) -> TestClient:
    client = TestClient(create_app(container), base_url="http://testserver")
    login(client, Account(world.scope.organisation_id, world.actor.user_id,
                          "admin@acme.example", "correct horse battery"))
    return client


def new_customer(world: World, name: str = "Acme", phone: str = "514 555 0000") -> int:
    with unit_of_work(world.sessions) as session:
        return create_customer(session, world.actor, NewCustomer(
            {"name": name, "currency": "CAD", "phone": phone}), clock=world.clock).id


def post(http: TestClient, path: str, **data: str) -> str:
    page = http.get("/")
    answer = http.post(path, data={"csrf_token": csrf_of(page.text), **data},
                       follow_redirects=True)
    assert answer.status_code == 200, answer.text
    return answer.text


def panel(text: str) -> str:
    start = text.index('id="zoho-crm-panel"')
    return text[start:text.index("</section>", start)]
