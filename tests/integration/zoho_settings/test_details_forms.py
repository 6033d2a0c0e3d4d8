"""Details without JavaScript: the plain forms behind every control, with the same rules."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from alix.identity.tables import Role
from alix.integrations.zoho_crm.pages import DETAILS
from tests.integration.zoho_settings.conftest import PUBLIC, Alix, connect
from tests.support import csrf_of, login, make_account
from zoho_emulator.testing import EmulatorServer

API = "/api/v1/integrations/zoho-crm"


def _post(alix: Alix, path: str, **fields: str) -> str:
    """Submit a form of Details as a browser without JavaScript; the page it lands on."""
    token = csrf_of(alix.http.get(DETAILS).text)
    answer = alix.http.post(DETAILS + path, data={"csrf_token": token, **fields},
                            follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith(DETAILS + "#"), answer.headers["location"]
    return alix.http.get(DETAILS).text


def _rows(alix: Alix, mapper: int = 0) -> list[dict[str, object]]:
    settings = alix.http.get(API + "/settings").json()
    return list(settings["modules"][0]["mappers"][mapper]["rows"])


def test_every_control_has_a_form_and_the_rules_hold(alix: Alix, emu: EmulatorServer) -> None:
    connect(alix.http, emu)
    page = alix.http.get(DETAILS).text
    # The controls name their forms, and the forms exist (no JavaScript needed to submit).
    for form_id in set(re.findall(r'form="([^"]+)"', page)):
        assert f'id="{form_id}"' in page, form_id
    assert 'action="/settings/integrations/zoho-crm/mappers/customer/rows"' in page
    assert "<noscript>" in page and "Activate Customers" in page

    refused = _post(alix, "/modules/customers", active="true")
    assert 'role="alert"' in refused and "Map Currency before activating Customers" in refused
    _post(alix, "/mappers/customer/rows")
    again = _post(alix, "/mappers/customer/rows")
    assert "Complete the field mapping in Customer field mapper" in again
    row = _rows(alix)[-1]
    assert row["alix_field"] is None
    saved = _post(alix, f"/mappers/customer/rows/{row['id']}", alix_field="currency")
    assert "The mapping is saved in Customer field mapper." in saved
    assert _rows(alix)[-1]["crm_field"] == "Currency"  # the suggestion, as in the page

    assert "Customers is active." in _post(alix, "/modules/customers", active="true")
    assert alix.http.get(API + "/settings").json()["modules"][0]["active"] is True
    locked = _post(alix, f"/mappers/customer/rows/{row['id']}/delete")
    assert "Currency is a mandatory mapping of Customer field mapper" in locked
    _post(alix, "/mappers/contact_person/rows")
    extra = _rows(alix, 1)[-1]
    deleted = _post(alix, f"/mappers/contact_person/rows/{extra['id']}/delete")
    assert "The mapping was deleted from Customer contact person field mapper." in deleted
    assert len(_rows(alix, 1)) == 2

    chosen = _post(alix, "/modules/billing_addresses", crm_module="Billing_Addresses")
    assert "The CRM module of Billing addresses is saved." in chosen
    taken = _post(alix, "/modules/shipping_addresses", crm_module="Billing_Addresses")
    assert "already holds the billing addresses" in taken
    _post(alix, "/modules/customers", active="false")
    assert alix.http.get(API + "/settings").json()["modules"][0]["active"] is False


def test_a_member_cannot_submit_the_forms(alix: Alix, emu: EmulatorServer) -> None:
    connect(alix.http, emu)
    row = _rows(alix)[0]["id"]
    member = make_account(alix.container, "Acme Ltd", "member@acme.example", Role.MEMBER)
    with TestClient(alix.http.app, base_url=PUBLIC) as http:
        login(http, member)
        token = csrf_of(http.get("/").text)
        for path, fields in (("/modules/customers", {"active": "true"}),
                             ("/mappers/customer/rows", {}),
                             (f"/mappers/customer/rows/{row}", {"crm_field": "Website"}),
                             (f"/mappers/customer/rows/{row}/delete", {})):
            answer = http.post(DETAILS + path, data={"csrf_token": token, **fields},
                               follow_redirects=False)
            assert answer.status_code == 403, (path, answer.status_code)
    assert len(_rows(alix)) == 1
