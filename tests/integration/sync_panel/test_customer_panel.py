"""The Zoho CRM panel of a customer's page: whether and to what the customer is linked, when it
last synced, its problems, and Create in Zoho, Sync now, Unlink and Link to an Account."""

from __future__ import annotations

import anyio
from sqlalchemy import delete

from alix.bootstrap import Container
from alix.customers import repository as repo
from alix.customers.contacts import add_contact
from alix.customers.domain import NewCustomer
from alix.customers.service import create_customer, update_customer
from alix.db.session import unit_of_work
from alix.identity.service import create_organisation, create_user
from alix.integrations.zoho_crm.rules import ConflictPolicy
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.store import links as link_store
from alix.integrations.zoho_crm.sync.store.tables import zoho_links
from tests.integration.sync_panel.conftest import (
    ZOHO_URL,
    browser,
    new_customer,
    panel,
    post,
    world_of,
)
from tests.support import csrf_of


def test_an_unlinked_customer_is_created_in_zoho_from_its_panel(
        backend: str, container: Container) -> None:
    world, fake = world_of(container)
    customer_id = new_customer(world)
    with browser(container, world) as http:
        before = panel(http.get(f"/customers/{customer_id}").text)
        assert "Not linked to Zoho CRM" in before
        assert "Create in Zoho" in before
        done = post(http, f"/customers/{customer_id}/zoho-crm/sync")
        [account] = fake.records["Accounts"].values()
        assert account["Account_Name"] == "Acme" and account["Phone"] == "514 555 0000"
        shown = panel(done)
        assert "In sync" in shown
        assert f'href="{ZOHO_URL}{account["id"]}"' in shown
        assert "Last synced" in shown


def test_sync_now_brings_the_accounts_change_into_alix(backend: str, container: Container
                                                       ) -> None:
    world, fake = world_of(container)
    customer_id = new_customer(world)
    anyio.run(world.push)
    [account] = fake.records["Accounts"].values()
    anyio.run(fake.update, "Accounts", [{"id": account["id"], "Phone": "514 555 0199"}])
    with browser(container, world) as http:
        done = post(http, f"/customers/{customer_id}/zoho-crm/sync")
        assert "Synchronized with Zoho CRM" in done
    with unit_of_work(world.sessions) as session:
        assert repo.get_customer(session, world.scope.organisation_id,
                                 customer_id).phone == "514 555 0199"


def test_unlink_then_link_by_hand_to_another_account_makes_both_sides_equal(
        backend: str, container: Container) -> None:
    world, fake = world_of(container, ConflictPolicy.CRM_WINS)
    customer_id = new_customer(world, phone="514 555 0100")
    anyio.run(world.push)
    [first] = fake.records["Accounts"].keys()
    [other] = [str(r.id) for r in anyio.run(fake.insert, "Accounts", [
        {"Account_Name": "Acme Holdings", "Phone": "514 555 0777"}])]
    with browser(container, world) as http:
        unlinked = post(http, f"/customers/{customer_id}/zoho-crm/unlink")
        assert "Not linked to Zoho CRM" in panel(unlinked)
        found = http.get(f"/customers/{customer_id}/zoho-crm/link", params={"q": "Acme"}).text
        assert "Acme Holdings" in found and other in found
        linked = post(http, f"/customers/{customer_id}/zoho-crm/link", zoho_id=other)
        assert f'href="{ZOHO_URL}{other}"' in panel(linked)
        assert "In sync" in panel(linked)
    with unit_of_work(world.sessions) as session:
        customer = repo.get_customer(session, world.scope.organisation_id, customer_id)
    # The policy here is "CRM wins": the fields the two held differently take Zoho's values.
    assert (customer.name, customer.phone) == ("Acme Holdings", "514 555 0777")
    assert fake.records["Accounts"][other]["Phone"] == "514 555 0777"
    assert first in fake.records["Accounts"]  # unlinking deletes nothing in Zoho


def test_linking_to_an_account_another_customer_holds_is_refused(
        backend: str, container: Container) -> None:
    world, fake = world_of(container)
    first = new_customer(world, "Acme")
    second = new_customer(world, "Beta")
    anyio.run(world.push)
    acme = next(k for k, r in fake.records["Accounts"].items() if r["Account_Name"] == "Acme")
    with browser(container, world) as http:
        post(http, f"/customers/{second}/zoho-crm/unlink")
        refused = post(http, f"/customers/{second}/zoho-crm/link", zoho_id=acme)
        assert f"already linked to ALIX customer {first}" in refused
        assert "Not linked to Zoho CRM" in panel(refused)


def test_an_open_conflict_shows_on_the_panel_with_its_values(backend: str,
                                                            container: Container) -> None:
    world, fake = world_of(container, ConflictPolicy.ASK)
    customer_id = new_customer(world, phone="514 555 0000")
    anyio.run(world.push)
    [account] = fake.records["Accounts"].values()
    anyio.run(fake.update, "Accounts", [{"id": account["id"], "Phone": "514 555 0199"}])
    with unit_of_work(world.sessions) as session:
        update_customer(session, world.actor, customer_id, {"phone": "514 555 0100"},
                        clock=world.clock)
    anyio.run(world.push)
    with browser(container, world) as http:
        shown = panel(http.get(f"/customers/{customer_id}").text)
    assert "Conflict" in shown
    assert "514 555 0100" in shown and "514 555 0199" in shown
    assert "/settings/integrations/zoho-crm/conflicts" in shown


def test_another_organisations_customer_has_no_panel_actions(backend: str,
                                                            container: Container) -> None:
    world, _fake = world_of(container)
    with unit_of_work(world.sessions) as session:
        org = create_organisation(session, "Other Ltd", ["CAD"], clock=world.clock)
        create_user(session, org, "x@other.example", "correct horse battery", clock=world.clock)
        other_actor = world.actor.__class__(org.id, world.actor.user_id, world.actor.origin)
        theirs = create_customer(session, other_actor, NewCustomer(
            {"name": "Theirs", "currency": "CAD"}), clock=world.clock).id
    with browser(container, world) as http:
        page = http.get("/")
        answer = http.post(f"/customers/{theirs}/zoho-crm/unlink",
                           data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert answer.status_code == 404


def test_a_contact_not_in_zoho_yet_or_deleted_there_shows_its_own_state(
        backend: str, container: Container) -> None:
    """The customer is in sync; its contacts' own pairings differ: one never reached Zoho, the
    other's Zoho record was deleted. The panel names each with its state."""
    world, fake = world_of(container)
    customer_id = new_customer(world)
    anyio.run(world.push)
    with unit_of_work(world.sessions) as session:
        kept = add_contact(session, world.actor, customer_id,
                           {"first_name": "Ada", "last_name": "Lovelace"}, clock=world.clock)
        waiting = add_contact(session, world.actor, customer_id,
                              {"first_name": "Charles", "last_name": "Babbage"},
                              clock=world.clock)
    anyio.run(world.push)
    [contact] = [r for r in fake.records["Contacts"].values() if r["Last_Name"] == "Lovelace"]
    with unit_of_work(world.sessions) as session:
        link_store.tombstone(session, world.scope, [(LinkKind.CONTACT, str(contact["id"]))],
                             world.clock())
        # Babbage never reached Zoho: as if its create were lost before it was sent.
        session.execute(delete(zoho_links).where(
            zoho_links.c.kind == LinkKind.CONTACT.value, zoho_links.c.alix_id == waiting.id))
    with browser(container, world) as http:
        shown = panel(http.get(f"/customers/{customer_id}").text)
    assert 'data-sync-state="in_sync"' in shown or "In sync" in shown
    assert "Contact person <strong>Ada Lovelace</strong>: deleted in Zoho CRM" in shown
    assert ("Contact person <strong>Charles Babbage</strong>: not in Zoho CRM yet" in shown)
    assert kept.id != waiting.id
