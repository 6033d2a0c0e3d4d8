"""The conflicts page: every open same-field conflict side by side (base, ALIX, Zoho), settled
with Keep ALIX's, Keep Zoho's or a typed value, written to both sides at once."""

from __future__ import annotations

import anyio
from sqlalchemy import select
from starlette.testclient import TestClient

from alix.bootstrap import Container
from alix.customers import repository as repo
from alix.customers.service import update_customer
from alix.db.session import unit_of_work
from alix.identity.service import create_organisation, create_user
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.rules import ConflictPolicy
from alix.integrations.zoho_crm.sync.store.issues import open_issues
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_issues
from alix.web.app import create_app
from tests.integration.sync_panel.conftest import (
    browser,
    make_admin,
    new_customer,
    post,
    world_of,
)
from tests.integration.sync_push.conftest import World
from tests.integration.sync_status.conftest import connect_org
from tests.support import Account, csrf_of, login

PAGE = "/settings/integrations/zoho-crm/conflicts"


def a_conflict(container: Container) -> tuple[World, FakeZohoCrm, int, str, int]:
    """Acme's phone changed on both sides since they agreed on 514 555 0000 (policy: ask)."""
    world, fake = world_of(container, ConflictPolicy.ASK)
    customer_id = new_customer(world, phone="514 555 0000")
    anyio.run(world.push)
    [account] = fake.records["Accounts"].values()
    fake.acting_user = {"id": "5725767000000411002", "name": "Dana Zoho",
                        "email": "dana@example.com"}  # a CRM user edits the phone
    anyio.run(fake.update, "Accounts", [{"id": account["id"], "Phone": "514 555 0199"}])
    world.clock.tick()
    with unit_of_work(world.sessions) as session:
        update_customer(session, world.actor, customer_id, {"phone": "514 555 0100"},
                        clock=world.clock)
    anyio.run(world.push)
    with unit_of_work(world.sessions) as session:
        [conflict] = open_issues(session, world.scope)
    return world, fake, customer_id, str(account["id"]), conflict.id


def phones(world: World, fake: FakeZohoCrm, customer_id: int, zoho_id: str) -> tuple[str, str]:
    with unit_of_work(world.sessions) as session:
        alix = repo.get_customer(session, world.scope.organisation_id, customer_id).phone
    return str(alix), str(fake.records["Accounts"][zoho_id]["Phone"])


def test_a_conflict_is_shown_side_by_side(backend: str, container: Container) -> None:
    world, _fake, customer_id, _zoho_id, conflict_id = a_conflict(container)
    with browser(container, world) as http:
        page = http.get(PAGE).text
        assert "/settings/integrations/zoho-crm/conflicts" in http.get(
            "/settings/integrations/zoho-crm/sync").text
    row = page[page.index(f'id="conflict-{conflict_id}"'):]
    row = row[:row.index("</article>")]
    assert f'href="/customers/{customer_id}"' in row and "Acme" in row
    assert "Phone" in row
    for value in ("514 555 0000", "514 555 0100", "514 555 0199"):
        assert value in row
    assert "changed by Dana Zoho in Zoho" in row  # who changed each side, and when
    assert "Keep ALIX" in row and "Keep Zoho" in row
    assert f'<label for="value-{conflict_id}"' in row


def test_keep_zohos_writes_both_sides_and_journals_who_decided(
        backend: str, container: Container) -> None:
    world, fake, customer_id, zoho_id, conflict_id = a_conflict(container)
    with browser(container, world) as http:
        done = post(http, f"{PAGE}/{conflict_id}/resolve", keep="zoho")
        assert "both sides hold" in done
        assert "No open conflict" in done
    assert phones(world, fake, customer_id, zoho_id) == ("514 555 0199", "514 555 0199")
    with unit_of_work(world.sessions) as session:
        details = session.execute(select(zoho_sync_issues.c.details, zoho_sync_issues.c.status)
                                  .where(zoho_sync_issues.c.id == conflict_id)).one()
    assert details.status == "resolved"
    assert details.details["value"] == "514 555 0199"
    assert details.details["resolved_by"]


def test_a_typed_value_is_written_to_both_sides(backend: str, container: Container) -> None:
    world, fake, customer_id, zoho_id, conflict_id = a_conflict(container)
    with browser(container, world) as http:
        post(http, f"{PAGE}/{conflict_id}/resolve", keep="value", value="514 555 0123")
    assert phones(world, fake, customer_id, zoho_id) == ("514 555 0123", "514 555 0123")


def test_another_organisation_neither_sees_nor_settles_the_conflict(
        backend: str, container: Container) -> None:
    world, fake, customer_id, zoho_id, conflict_id = a_conflict(container)
    with unit_of_work(world.sessions) as session:
        org = create_organisation(session, "Other Ltd", ["CAD"], clock=world.clock)
        user = create_user(session, org, "admin@other.example", "correct horse battery",
                           clock=world.clock)
        connect_org(session, org.id)  # connected too: only its own conflicts are its own
    make_admin(container, user.id)
    other = Account(org.id, user.id, "admin@other.example", "correct horse battery")
    with TestClient(create_app(container), base_url="http://testserver") as http:
        login(http, other)
        page = http.get(PAGE, follow_redirects=True).text
        assert f"conflict-{conflict_id}" not in page
        http.post(f"{PAGE}/{conflict_id}/resolve",
                  data={"keep": "zoho", "csrf_token": csrf_of(http.get("/").text)},
                  follow_redirects=True)
    assert phones(world, fake, customer_id, zoho_id) == ("514 555 0100", "514 555 0199")
