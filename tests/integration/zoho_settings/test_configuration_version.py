"""The version of the configuration the sync reads: every change bumps it, equal means equal."""

from __future__ import annotations

from typing import Any

from tests.integration.zoho_settings.conftest import Alix, api_headers, connect
from zoho_emulator.testing import EmulatorServer

API = "/api/v1/integrations/zoho-crm"


def test_every_configuration_change_bumps_the_version(
    alix: Alix, emu: EmulatorServer, backend: str
) -> None:
    seen: dict[int, Any] = {}

    def configuration() -> Any:
        value = alix.http.get(API + "/configuration").json()
        earlier = seen.setdefault(value["version"], value)
        assert earlier == value, f"version {value['version']} stands for two configurations"
        return value

    def changes(method: str, path: str, body: Any = None) -> Any:
        before = configuration()
        answer = alix.http.request(method, API + path, json=body, headers=api_headers(alix.http))
        assert answer.status_code < 300, (method, path, answer.text)
        after = configuration()
        assert after["version"] > before["version"], (method, path)
        return answer.json() if answer.status_code != 204 else None

    connect(alix.http, emu)
    row = changes("POST", "/mappers/customer/rows")["id"]
    changes("PATCH", f"/mappers/customer/rows/{row}", {"alix_field": "currency"})
    changes("PATCH", "/modules/customers", {"active": True})
    changes("PATCH", "/modules/billing_addresses", {"crm_module": "Billing_Addresses"})
    policies = {"conflict": "crm_wins", "delete_crm_to_alix": "ignore",
                "delete_alix_to_crm": "delete"}
    changes("PUT", "/policies", policies)
    extra = changes("POST", "/mappers/customer/rows")["id"]
    changes("PATCH", f"/mappers/customer/rows/{extra}", {"crm_field": "Website"})
    changes("DELETE", f"/mappers/customer/rows/{extra}")
    changes("POST", "/metadata/refresh")  # the CRM's types and lengths are part of it
    changes("PATCH", "/modules/customers", {"active": False})

    # Saving what is already there is no change: same version, same configuration.
    before = configuration()
    same = alix.http.put(API + "/policies", json=policies, headers=api_headers(alix.http))
    assert same.status_code == 200
    assert configuration() == before

    # What the sync needs is in it (sync-design.md): modules, lookups, rows, policies.
    config = configuration()
    billing = next(m for m in config["modules"] if m["kind"] == "billing_addresses")
    assert (billing["active"], billing["crm_module"], billing["account_lookup"]) == (
        False, "Billing_Addresses", "Account")
    assert billing["mappers"][0]["account_lookup"] == "Account"
    customers = config["modules"][0]
    contact = customers["mappers"][1]
    assert (contact["crm_module"], contact["account_lookup"]) == ("Contacts", "Account_Name")
    currency = customers["mappers"][0]["fields"][1]
    assert currency == {"alix_field": "currency", "crm_field": "Currency", "direction": "both",
                        "alix_type": "currency", "crm_type": "picklist", "crm_length": 120}
    assert (config["conflict_policy"], config["delete_crm_to_alix"],
            config["delete_alix_to_crm"]) == ("crm_wins", "ignore", "delete")
    assert config["zoho_org_id"] == "60012345"
