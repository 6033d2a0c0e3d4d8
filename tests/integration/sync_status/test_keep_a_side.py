"""An open conflict on the status page: the administrator keeps ALIX's or Zoho's value with
one button (or one API call); both sides hold it at once and the conflict is gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from sqlalchemy import update
from starlette.testclient import TestClient

from alix.bootstrap import Container
from alix.customers import repository as repo
from alix.db.session import unit_of_work
from alix.identity.tables import Role, User
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.rules import ConflictPolicy
from alix.integrations.zoho_crm.sync.store.issues import open_issues
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.web.app import create_app
from tests.integration.sync_push.conftest import Clock, World, connect
from tests.integration.sync_push.test_push_conflicts import both_change_phone
from tests.support import Account, csrf_of, login

PAGE = "/settings/integrations/zoho-crm/sync"
API = "/api/v1/integrations/zoho-crm/sync"


def _conflict(container: Container) -> tuple[World, FakeZohoCrm, int, str, int]:
    clock = Clock()
    fake = FakeZohoCrm(clock=clock)
    sessions = container.session_factory
    world = World(sessions, *connect(sessions, clock, conflict_policy=ConflictPolicy.ASK),
                  fake, clock)
    customer_id, zoho_id = anyio.run(both_change_phone, world, fake)
    anyio.run(world.push)
    with unit_of_work(sessions) as session:
        [conflict] = open_issues(session, world.scope)
        session.execute(update(User).where(User.id == world.actor.user_id)
                        .values(role=Role.ADMIN.value))

    @asynccontextmanager
    async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        yield fake

    container.use_zoho(crm_factory=factory)
    return world, fake, customer_id, zoho_id, conflict.id


def _browser(container: Container, world: World) -> TestClient:
    client = TestClient(create_app(container), base_url="http://testserver")
    login(client, Account(world.scope.organisation_id, world.actor.user_id,
                          "admin@acme.example", "correct horse battery"))
    return client


def test_keep_zohos_value_from_the_page(backend: str, container: Container) -> None:
    world, fake, customer_id, zoho_id, conflict_id = _conflict(container)
    with _browser(container, world) as http:
        page = http.get(PAGE)
        assert "Keep ALIX's: 514 555 0100" in page.text
        assert "Keep Zoho's: 514 555 0199" in page.text
        done = http.post(f"{PAGE}/issues/{conflict_id}/resolve",
                         data={"keep": "zoho", "csrf_token": csrf_of(page.text)},
                         follow_redirects=True)
        assert "You kept Zoho&#39;s value &#39;514 555 0199&#39;" in done.text
        assert "Every record is in sync" in done.text
    assert fake.records["Accounts"][zoho_id]["Phone"] == "514 555 0199"
    with unit_of_work(container.session_factory) as session:
        assert repo.get_customer(session, world.scope.organisation_id,
                                 customer_id).phone == "514 555 0199"


def test_keep_alixs_value_through_the_api(backend: str, container: Container) -> None:
    world, fake, _customer_id, zoho_id, conflict_id = _conflict(container)
    with _browser(container, world) as http:
        headers = {"X-CSRF-Token": csrf_of(http.get("/").text), "Accept": "application/json"}
        answer = http.post(f"{API}/issues/{conflict_id}/resolve", json={"keep": "alix"},
                           headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"id": conflict_id, "status": "resolved", "kept": "alix",
                                 "value": "514 555 0100"}
        again = http.post(f"{API}/issues/{conflict_id}/resolve", json={"keep": "alix"},
                          headers=headers)
        assert again.status_code == 404
    assert fake.records["Accounts"][zoho_id]["Phone"] == "514 555 0100"
