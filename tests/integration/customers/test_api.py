"""REST API /api/v1/customers: CRUD, nested rows, field errors, paging, isolation, outbox."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from alix.bootstrap import Container
from alix.customers import outbox
from alix.customers.domain import Origin
from alix.db.session import unit_of_work
from alix.identity.service import create_api_token
from alix.identity.tables import User
from tests.support import Account


def _token(container: Container, account: Account) -> dict[str, str]:
    with unit_of_work(container.session_factory) as session:
        user = session.get(User, account.user_id)
        assert user is not None
        _token_row, plaintext = create_api_token(session, user, "tests")
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def api(client: TestClient, container: Container, admin: Account) -> TestClient:
    client.headers.update(_token(container, admin))
    return client


NEW = {
    "name": "Initech",
    "currency": "USD",
    "website": "https://initech.example",
    "contacts": [{"first_name": "Bill", "last_name": "Lumbergh", "email": "bill@initech.example"}],
    "addresses": [
        {"kind": "billing", "is_main": True, "city": "Austin", "province": "TX",
         "country": "US"},
        {"kind": "shipping", "is_main": True, "city": "Toronto", "province": "Ontario",
         "country": "Canada"},
    ],
}


def test_create_get_patch_delete(
    backend: str, api: TestClient, container: Container, admin: Account
) -> None:
    created = api.post("/api/v1/customers", json=NEW)
    assert created.status_code == 201, created.text
    body = created.json()
    assert [a["province_name"] for a in body["addresses"]] == ["Texas", "Ontario"]
    assert body["addresses"][1]["province"] == "CA-ON"
    cid = body["id"]
    patched = api.patch(f"/api/v1/customers/{cid}", json={"phone": "+1 512 555 0100",
                                                          "version": 1})
    assert patched.json()["version"] == 2
    stale = api.patch(f"/api/v1/customers/{cid}", json={"phone": "1 2 3", "version": 1})
    assert stale.status_code == 409
    assert api.get(f"/api/v1/customers/{cid}").json()["phone"] == "+1 512 555 0100"
    assert api.delete(f"/api/v1/customers/{cid}").status_code == 204
    assert api.get(f"/api/v1/customers/{cid}").status_code == 404
    with unit_of_work(container.session_factory) as session:
        rows = outbox.entries(session, admin.organisation_id, status=None)
    assert {r.origin for r in rows} == {Origin.API}
    assert {r.actor_id for r in rows} == {admin.user_id}


def test_bad_input_gives_field_errors_and_writes_nothing(backend: str, api: TestClient) -> None:
    bad = {**NEW, "currency": "JPY", "name": "x" * 201,
           "contacts": [{"first_name": "No", "email": "nope@", "last_name": ""}]}
    response = api.post("/api/v1/customers", json=bad)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"name", "currency", "contacts.0.email", "contacts.0.last_name"}
    assert api.get("/api/v1/customers").json()["items"] == []
    malformed = api.post("/api/v1/customers", content=b"{not json",
                         headers={"Content-Type": "application/json"})
    assert malformed.status_code == 422
    unknown = api.post("/api/v1/customers", json={"name": "A", "currency": "USD", "vat": "1"})
    assert unknown.status_code == 422 and "vat" in unknown.json()["errors"]


def test_nested_contacts_and_addresses(backend: str, api: TestClient) -> None:
    cid = api.post("/api/v1/customers", json=NEW).json()["id"]
    other = api.post("/api/v1/customers", json={"name": "Hooli", "currency": "CAD"}).json()["id"]
    second_main = api.post(f"/api/v1/customers/{cid}/addresses",
                           json={"kind": "billing", "is_main": True, "city": "Dallas"})
    assert second_main.status_code == 422
    assert "already has a main billing address" in second_main.json()["errors"]["is_main"][0]
    extra = api.post(f"/api/v1/customers/{cid}/addresses", json={"kind": "billing",
                                                                 "city": "Dallas"}).json()
    made = api.post(f"/api/v1/customers/{cid}/addresses/{extra['id']}/main")
    assert made.json()["is_main"] is True
    mains = [a["city"] for a in api.get(f"/api/v1/customers/{cid}/addresses").json()
             if a["is_main"] and a["kind"] == "billing"]
    assert mains == ["Dallas"]
    contact = api.post(f"/api/v1/customers/{cid}/contacts", json={"last_name": "Gibbons"}).json()
    renamed = api.patch(f"/api/v1/customers/{cid}/contacts/{contact['id']}",
                        json={"first_name": "Peter"})
    assert renamed.json()["first_name"] == "Peter"
    moved = api.post(f"/api/v1/customers/{cid}/contacts/{contact['id']}/move",
                     json={"customer_id": other})
    assert moved.json()["customer_id"] == other
    assert api.patch(f"/api/v1/customers/{cid}/contacts/{contact['id']}",
                     json={"title": "x"}).status_code == 404
    assert api.delete(f"/api/v1/customers/{other}/contacts/{contact['id']}").status_code == 204
    assert api.delete(f"/api/v1/customers/{cid}/addresses/{extra['id']}").status_code == 204
    assert len(api.get(f"/api/v1/customers/{cid}").json()["addresses"]) == 2


def test_list_search_filter_and_cursor(backend: str, api: TestClient) -> None:
    for name in ["Umbrella", "Stark", "Wayne", "Tyrell"]:
        api.post("/api/v1/customers", json={"name": name, "currency": "USD",
                                            "email": f"hq@{name.lower()}.example"})
    wayne = api.get("/api/v1/customers", params={"q": "wayne"}).json()["items"][0]
    api.patch(f"/api/v1/customers/{wayne['id']}", json={"is_active": False})
    names, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": 1, "active": "true"}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/api/v1/customers", params=params).json()
        names += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert names == ["Stark", "Tyrell", "Umbrella"]
    inactive = api.get("/api/v1/customers", params={"active": "false"}).json()["items"]
    assert [c["name"] for c in inactive] == ["Wayne"]
    by_mail = api.get("/api/v1/customers", params={"q": "@tyrell."}).json()["items"]
    assert [c["name"] for c in by_mail] == ["Tyrell"]
    assert api.get("/api/v1/customers", params={"cursor": "garbage"}).status_code == 422


def test_another_organisation_gets_404(
    backend: str, api: TestClient, container: Container, other_org_admin: Account
) -> None:
    cid = api.post("/api/v1/customers", json=NEW).json()["id"]
    stranger = _token(container, other_org_admin)
    assert api.get(f"/api/v1/customers/{cid}", headers=stranger).status_code == 404
    assert api.patch(f"/api/v1/customers/{cid}", json={"notes": "x"},
                     headers=stranger).status_code == 404
    assert api.delete(f"/api/v1/customers/{cid}", headers=stranger).status_code == 404
    assert api.get("/api/v1/customers", headers=stranger).json()["items"] == []


def test_the_openapi_document_carries_the_catalog(api: TestClient) -> None:
    schema = api.get("/api/openapi.json").json()
    name = schema["components"]["schemas"]["CustomerIn"]["properties"]["name"]
    assert (name["maxLength"], name["x-alix-type"]) == (200, "text")
    assert "/api/v1/customers/{customer_id}/addresses/{address_id}/main" in schema["paths"]
