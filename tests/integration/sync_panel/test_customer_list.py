"""The customer list's "Zoho CRM" column and its filter (all / not synced / with errors), on
the page and through /api/v1/customers, with search, paging and organisation isolation."""

from __future__ import annotations

import re

import anyio
from starlette.testclient import TestClient

from alix.bootstrap import Container
from alix.customers.domain import NewCustomer
from alix.customers.service import create_customer, update_customer
from alix.db.session import unit_of_work
from alix.identity.service import create_organisation
from alix.integrations.zoho_crm.rules import ConflictPolicy
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.store.issues import Direction, Report, record_issue
from tests.integration.sync_panel.conftest import browser, new_customer, world_of
from tests.integration.sync_push.conftest import World


def _shown(http: TestClient, **params: str) -> dict[str, str]:
    """Name -> the Zoho CRM cell of each row the list page shows."""
    page = http.get("/customers", params=params).text
    rows = re.findall(r'<a href="/customers/\d+">([^<]+)</a>.*?data-value="(\w+)"', page,
                      re.S)
    return dict(rows)


def _listed(http: TestClient, **params: str) -> list[str]:
    """Every customer name the API lists, following next_cursor one customer at a time."""
    names: list[str] = []
    cursor: str | None = None
    while True:
        page = http.get("/api/v1/customers", params={**params, "limit": "1",
                                                     **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        names += [c["name"] for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return names


def _seed(world: World) -> dict[str, int]:
    """Acme in sync; Beta in conflict; Delta's contact person refused by Zoho; Gamma created
    since the last push (not linked, change pending); Omega of another organisation."""
    fake = world.crm
    ids = {name: new_customer(world, name) for name in ("Acme", "Beta")}
    with unit_of_work(world.sessions) as session:
        ids["Delta"] = create_customer(session, world.actor, NewCustomer(
            {"name": "Delta", "currency": "CAD"},
            [{"first_name": "Dana", "last_name": "Delta", "email": "dana@delta.example"}]),
            clock=world.clock).id
    anyio.run(world.push)
    beta = next(k for k, r in fake.records["Accounts"].items()  # type: ignore[attr-defined]
                if r["Account_Name"] == "Beta")
    anyio.run(fake.update, "Accounts", [{"id": beta, "Phone": "514 555 0199"}])  # type: ignore[attr-defined]
    world.clock.tick()
    with unit_of_work(world.sessions) as session:
        update_customer(session, world.actor, ids["Beta"], {"phone": "514 555 0100"},
                        clock=world.clock)
    anyio.run(world.push)
    with unit_of_work(world.sessions) as session:
        from alix.customers import repository as repo
        [dana] = repo.contacts_of(session, world.scope.organisation_id, ids["Delta"])
        record_issue(session, world.scope, Report(
            Direction.PUSH, LinkKind.CONTACT, "INVALID_DATA",
            "Zoho rejected contact Dana Delta: INVALID_DATA Email", alix_id=dana.id,
            field="Email"), world.clock())
        other = create_organisation(session, "Other Ltd", ["CAD"], clock=world.clock)
        create_customer(session, world.actor.__class__(other.id, None, world.actor.origin),
                        NewCustomer({"name": "Omega", "currency": "CAD"}), clock=world.clock)
    ids["Gamma"] = new_customer(world, "Gamma")
    return ids


def test_the_list_shows_each_customers_state_and_filters_the_ones_with_errors(
        backend: str, container: Container) -> None:
    world, _fake = world_of(container, ConflictPolicy.ASK)
    _seed(world)
    with browser(container, world) as http:
        assert _shown(http) == {"Acme": "in_sync", "Beta": "conflict", "Delta": "error",
                                "Gamma": "not_linked"}
        assert _shown(http, sync="errors") == {"Beta": "conflict", "Delta": "error"}
        assert _shown(http, sync="not_synced") == {"Beta": "conflict", "Delta": "error",
                                                   "Gamma": "not_linked"}
        assert _shown(http, sync="errors", q="del") == {"Delta": "error"}
        assert _shown(http, sync="errors", status="inactive") == {}
        page = http.get("/customers", params={"sync": "errors"}).text
        assert '<option value="errors" selected>' in page


def test_the_api_pages_through_the_filtered_customers_of_its_organisation_only(
        backend: str, container: Container) -> None:
    world, _fake = world_of(container, ConflictPolicy.ASK)
    _seed(world)
    with browser(container, world) as http:
        assert _listed(http, sync="errors") == ["Beta", "Delta"]
        assert _listed(http, sync="not_synced") == ["Beta", "Delta", "Gamma"]
        assert _listed(http, sync="all") == ["Acme", "Beta", "Delta", "Gamma"]
        assert _listed(http) == ["Acme", "Beta", "Delta", "Gamma"]
        assert _listed(http, sync="errors", q="beta") == ["Beta"]


def test_without_a_connection_the_list_has_no_zoho_column(backend: str,
                                                         container: Container) -> None:
    world, _fake = world_of(container)
    new_customer(world, "Acme")
    with unit_of_work(world.sessions) as session:
        from alix.integrations.zoho_crm.tables import ZohoConnection
        connection = session.get(ZohoConnection, world.scope.connection_id)
        assert connection is not None
        connection.status = "disconnected"
    with browser(container, world) as http:
        page = http.get("/customers", params={"sync": "errors"}).text
        assert "Acme" in page and "data-list-filter" not in page
        assert _listed(http, sync="errors") == ["Acme"]
