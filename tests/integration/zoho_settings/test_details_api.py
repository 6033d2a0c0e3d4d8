"""Details through the REST API on both databases: rules, configuration, who may do what."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from alix.db.session import unit_of_work
from alix.identity.service import create_api_token
from alix.identity.tables import Role
from alix.integrations.zoho_crm.mappers import MapperKind, ModuleKind
from alix.integrations.zoho_crm.repository import connected, load_configuration
from alix.integrations.zoho_crm.tables import ZohoConnection
from tests.integration.zoho_settings.conftest import BROOK, Alix, api_headers, connect
from tests.support import make_account
from zoho_emulator.testing import EmulatorServer

API = "/api/v1/integrations/zoho-crm"


@pytest.fixture
def linked(alix: Alix, emu: EmulatorServer, backend: str) -> Alix:
    connect(alix.http, emu)
    return alix


def _call(alix: Alix, method: str, path: str, body: Any = None) -> Any:
    response = alix.http.request(method, API + path, json=body, headers=api_headers(alix.http))
    return response


def _add(alix: Alix, mapper: str, alix_field: str | None, crm_field: str | None) -> int:
    created = _call(alix, "POST", f"/mappers/{mapper}/rows")
    assert created.status_code == 201, created.text
    row_id = int(created.json()["id"])
    body = {k: v for k, v in (("alix_field", alix_field), ("crm_field", crm_field)) if v}
    edited = _call(alix, "PATCH", f"/mappers/{mapper}/rows/{row_id}", body)
    assert edited.status_code == 200, edited.text
    return row_id


def test_activation_and_configuration_on_both_databases(linked: Alix) -> None:
    refused = _call(linked, "PATCH", "/modules/customers", {"active": True})
    assert refused.status_code == 422
    assert "Map Currency" in refused.text
    _add(linked, "customer", "currency", None)  # the suggestion fills in Currency
    assert _call(linked, "PATCH", "/modules/customers", {"active": True}).status_code == 200
    settings = _call(linked, "GET", "/settings").json()
    customer = settings["modules"][0]["mappers"][0]
    assert [r["crm_label"] for r in customer["rows"]] == ["Client Name", "Currency"]
    warnings = settings["modules"][0]["warnings"]
    assert not any("picklist" in w for w in warnings)  # CAD, USD, EUR are in the picklist
    assert any(w.startswith("Email allows 254 characters") for w in warnings)
    with unit_of_work(linked.container.session_factory) as session:
        connection_id = connected(session, linked.admin.organisation_id).id
        config = load_configuration(session, connection_id)
        stored = session.get(ZohoConnection, connection_id)
        assert stored is not None and stored.config_version == config.version
    assert config.module(ModuleKind.CUSTOMERS).active
    fields = config.mapper(MapperKind.CUSTOMER).fields
    assert [(f.alix_field, f.crm_field, f.crm_type) for f in fields] == [
        ("name", "Account_Name", "text"), ("currency", "Currency", "picklist")]
    assert config.delete_alix_to_crm.value == "mark_inactive"
    exposed = _call(linked, "GET", "/configuration").json()
    assert exposed["version"] == config.version
    assert exposed["modules"][0]["crm_module"] == "Accounts"


def test_custom_module_order_deactivate_delete_change(linked: Alix) -> None:
    _add(linked, "customer", "currency", "Currency")
    _call(linked, "PATCH", "/modules/customers", {"active": True})
    listed = _call(linked, "GET", "/settings").json()["modules"][3]["crm_modules"]
    assert [m["api_name"] for m in listed] == ["Billing_Addresses", "Shipping_Addresses"]
    assert _call(linked, "PATCH", "/modules/billing_addresses",
                 {"crm_module": "Projects"}).status_code == 422
    assert _call(linked, "PATCH", "/modules/billing_addresses",
                 {"crm_module": "Billing_Addresses"}).json()["account_lookup"] == "Account"
    rows = [_add(linked, "billing_addresses", f, None)
            for f in ("street", "city", "country", "province", "postal_code", "is_main")]
    name_row = _add(linked, "billing_addresses", None, "Name")
    assert _call(linked, "PATCH", "/modules/billing_addresses", {"active": True}).status_code == 200
    changed = _call(linked, "PATCH", "/modules/billing_addresses",
                    {"crm_module": "Shipping_Addresses"})
    assert changed.status_code == 409 and "Deactivate Billing addresses" in changed.text
    locked = _call(linked, "DELETE", f"/mappers/billing_addresses/rows/{rows[0]}")
    assert locked.status_code == 409
    assert "Deactivate Billing addresses to change its required mappings" in locked.text
    assert _call(linked, "PATCH", "/modules/billing_addresses",
                 {"active": False}).status_code == 200
    still = _call(linked, "PATCH", "/modules/billing_addresses",
                  {"crm_module": "Shipping_Addresses"})
    assert still.status_code == 409 and "Delete the field mappings" in still.text
    for row_id in [*rows, name_row]:
        assert _call(linked, "DELETE",
                     f"/mappers/billing_addresses/rows/{row_id}").status_code == 204
    assert _call(linked, "PATCH", "/modules/billing_addresses",
                 {"crm_module": "Shipping_Addresses"}).status_code == 200


def test_a_member_cannot_change_anything(linked: Alix) -> None:
    member = make_account(linked.container, "Acme Ltd", "member@acme.example", Role.MEMBER)
    with unit_of_work(linked.container.session_factory) as session:
        from alix.identity.tables import User

        user = session.get(User, member.user_id)
        assert user is not None
        token = create_api_token(session, user, "member token")[1]
    member_http = TestClient(linked.http.app, base_url="http://testserver")
    headers = {"Authorization": f"Bearer {token}"}
    for method, path, body in (
        ("GET", "/settings", None), ("GET", "/configuration", None),
        ("PATCH", "/modules/customers", {"active": True}),
        ("POST", "/mappers/customer/rows", None),
        ("PUT", "/policies", {"conflict": "crm_wins", "delete_crm_to_alix": "ignore",
                              "delete_alix_to_crm": "delete"}),
        ("POST", "/disconnect", None), ("POST", "/connect", {"location": "us"}),
    ):
        answer = member_http.request(method, API + path, json=body, headers=headers)
        assert answer.status_code == 403, (method, path, answer.text)
    assert _call(linked, "GET", "/settings").json()["policies"]["conflict"] == "most_recent"


def test_another_organisation_neither_reads_nor_changes(linked: Alix) -> None:
    other = make_account(linked.container, "Globex Corp", "admin@globex.example", Role.ADMIN)
    with unit_of_work(linked.container.session_factory) as session:
        from alix.identity.tables import User

        user = session.get(User, other.user_id)
        assert user is not None
        token = create_api_token(session, user, "globex")[1]
    http = TestClient(linked.http.app, base_url="http://testserver")
    headers = {"Authorization": f"Bearer {token}"}
    assert http.get(API, headers=headers).json() == {"status": "not_connected"}
    assert http.get(API + "/settings", headers=headers).status_code == 404
    assert http.get(API + "/configuration", headers=headers).status_code == 404
    row = _call(linked, "POST", "/mappers/customer/rows").json()["id"]
    assert http.patch(API + f"/mappers/customer/rows/{row}", json={"alix_field": "website"},
                      headers=headers).status_code == 404
    assert http.delete(API + f"/mappers/customer/rows/{row}", headers=headers).status_code == 404
    assert http.post(API + "/disconnect", headers=headers).status_code == 409
    assert _call(linked, "GET", "").json()["status"] == "connected"


def test_org_without_multi_currency(alix: Alix, emu: EmulatorServer) -> None:
    connect(alix.http, emu, BROOK)
    refused = _call(alix, "PATCH", "/modules/customers", {"active": True})
    assert refused.status_code == 422
    assert "home currency (GBP, fixed)" in refused.text and "text or picklist" in refused.text
    row = _add(alix, "customer", "currency", None)
    settings = _call(alix, "GET", "/settings").json()
    currency = next(r for r in settings["modules"][0]["mappers"][0]["rows"] if r["id"] == row)
    assert currency["crm_field"] == "@home_currency"
    assert currency["direction"] == "crm_to_alix"
    assert _call(alix, "PATCH", "/modules/customers", {"active": True}).status_code == 200
    warnings = _call(alix, "GET", "/settings").json()["modules"][0]["warnings"]
    assert any("CAD" in w and "GBP" in w for w in warnings)
