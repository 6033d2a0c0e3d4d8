"""The same decisions through /api/v1/integrations/zoho-crm/: a customer's pairing and its
actions, the conflicts (paged) and the first sync's preview, each scoped to the caller's
organisation."""

from __future__ import annotations

import anyio
from starlette.testclient import TestClient

from alix.bootstrap import Container
from alix.customers import repository as repo
from alix.customers.service import update_customer
from alix.db.session import unit_of_work
from alix.identity.service import create_organisation, create_user
from alix.integrations.zoho_crm.rules import ConflictPolicy
from alix.web.app import create_app
from tests.integration.sync_panel.conftest import browser, make_admin, new_customer, world_of
from tests.integration.sync_status.conftest import connect_org
from tests.support import Account, csrf_of, login

API = "/api/v1/integrations/zoho-crm"


def headers(http: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_of(http.get("/").text), "Accept": "application/json"}


def test_a_customer_is_created_unlinked_and_linked_through_the_api(
        backend: str, container: Container) -> None:
    world, fake = world_of(container, ConflictPolicy.CRM_WINS)
    customer_id = new_customer(world, "Acme", "514 555 0100")
    with browser(container, world) as http:
        h = headers(http)
        assert http.get(f"{API}/customers/{customer_id}").json()["state"] == "not_linked"
        made = http.post(f"{API}/customers/{customer_id}/sync", headers=h).json()
        assert made["state"] == "in_sync" and made["zoho_id"] in fake.records["Accounts"]
        [other] = [str(r.id) for r in anyio.run(fake.insert, "Accounts", [
            {"Account_Name": "Acme Holdings", "Phone": "514 555 0777"}])]
        found = http.get(f"{API}/accounts", params={"q": "Acme"}).json()["accounts"]
        assert {a["zoho_id"]: a["linked_to"] for a in found} == {
            made["zoho_id"]: customer_id, other: None}
        busy = http.post(f"{API}/customers/{customer_id}/link", json={"zoho_id": other},
                         headers=h)
        assert busy.status_code == 409
        assert http.post(f"{API}/customers/{customer_id}/unlink",
                         headers=h).json()["state"] == "not_linked"
        linked = http.post(f"{API}/customers/{customer_id}/link", json={"zoho_id": other},
                           headers=h).json()
        assert (linked["state"], linked["zoho_id"]) == ("in_sync", other)
    with unit_of_work(world.sessions) as session:
        assert repo.get_customer(session, world.scope.organisation_id,
                                 customer_id).phone == "514 555 0777"


def _two_conflicts(container: Container) -> tuple[TestClient, list[int]]:
    world, fake = world_of(container, ConflictPolicy.ASK)
    ids = [new_customer(world, name, "514 555 0000") for name in ("Acme", "Beta")]
    anyio.run(world.push)
    anyio.run(fake.update, "Accounts", [{"id": k, "Phone": "514 555 0199"}
                                        for k in fake.records["Accounts"]])
    world.clock.tick()
    with unit_of_work(world.sessions) as session:
        for customer_id in ids:
            update_customer(session, world.actor, customer_id, {"phone": "514 555 0100"},
                            clock=world.clock)
    anyio.run(world.push)
    return browser(container, world), ids


def test_conflicts_are_paged_and_settled_with_a_typed_value(backend: str,
                                                           container: Container) -> None:
    http, ids = _two_conflicts(container)
    with http:
        first = http.get(f"{API}/conflicts", params={"limit": 1}).json()
        assert len(first["conflicts"]) == 1 and first["next_cursor"]
        second = http.get(f"{API}/conflicts",
                          params={"limit": 1, "cursor": first["next_cursor"]}).json()
        assert second["next_cursor"] is None
        both = first["conflicts"] + second["conflicts"]
        assert sorted(c["customer_id"] for c in both) == sorted(ids)
        assert {(c["base"], c["alix"], c["crm"]) for c in both} == {
            ("514 555 0000", "514 555 0100", "514 555 0199")}
        done = http.post(f"{API}/conflicts/{both[0]['id']}/resolve",
                         json={"keep": "value", "value": "514 555 0123"}, headers=headers(http))
        assert done.json() == {"id": both[0]["id"], "status": "resolved",
                               "value": "514 555 0123"}
        assert len(http.get(f"{API}/conflicts").json()["conflicts"]) == 1


def test_another_organisation_reaches_none_of_it(backend: str, container: Container) -> None:
    http, ids = _two_conflicts(container)
    with http:
        [conflict, _] = http.get(f"{API}/conflicts").json()["conflicts"]
    with unit_of_work(container.session_factory) as session:
        org = create_organisation(session, "Other Ltd", ["CAD"])
        user = create_user(session, org, "admin@other.example", "correct horse battery")
        connect_org(session, org.id)
    make_admin(container, user.id)
    with TestClient(create_app(container), base_url="http://testserver") as other:
        login(other, Account(org.id, user.id, "admin@other.example", "correct horse battery"))
        h = headers(other)
        assert other.get(f"{API}/conflicts").json()["conflicts"] == []
        assert other.post(f"{API}/conflicts/{conflict['id']}/resolve", json={"keep": "zoho"},
                          headers=h).status_code == 404
        for action in ("sync", "unlink"):
            assert other.post(f"{API}/customers/{ids[0]}/{action}",
                              headers=h).status_code == 404
        assert other.get(f"{API}/customers/{ids[0]}").status_code == 404
        assert other.post(f"{API}/customers/{ids[0]}/link", json={"zoho_id": "1"},
                          headers=h).status_code == 404
    with http:
        assert len(http.get(f"{API}/conflicts").json()["conflicts"]) == 2


def test_the_preview_and_a_choice_through_the_api(backend: str, container: Container) -> None:
    world, fake = world_of(container)
    acmes = [new_customer(world, "Acme"), new_customer(world, "Acme")]
    [acme] = anyio.run(fake.insert, "Accounts", [{"Account_Name": "Acme"}])
    with browser(container, world) as http:
        shown = http.get(f"{API}/preview").json()
        assert {"module": "Accounts", "action": "ambiguous", "count": 1} in shown["counts"]
        [ambiguous] = shown["ambiguous"]
        assert [c["customer_id"] for c in ambiguous["candidates"]] == acmes
        chosen = http.post(f"{API}/preview/ambiguous/{acme.id}", json={"choice": str(acmes[0])},
                           headers=headers(http))
        assert chosen.status_code == 200, chosen.text
        after = http.get(f"{API}/preview").json()
        assert after["ambiguous"] == []
        assert {"module": "Accounts", "action": "update", "count": 1} in after["counts"]
