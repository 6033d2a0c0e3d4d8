"""Credits, concurrency and faults; scopes per endpoint; orgs, metadata and schema control."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from zoho_emulator.testing import EmulatorServer

from .conftest import OTHER_ORG, ClientFactory

COUNT = "/crm/v8/Accounts/actions/count"


def test_credits_header_and_429_in_a_rolling_day(api: httpx.Client, emu: EmulatorServer,
                                                 client_for: ClientFactory) -> None:
    emu.control("config", {"credits_per_day": 10, "access_token_lifetime": 200_000})
    fresh = client_for()
    remaining = [fresh.get(COUNT).headers.get("X-API-CREDITS-REMAINING") for _ in range(10)]
    assert remaining[:4] == [None] * 4 and remaining[4:] == ["5", "4", "3", "2", "1", "0"]
    refused = fresh.get(COUNT)
    assert refused.status_code == 429 and refused.json()["code"] == "TOO_MANY_REQUESTS"
    emu.control("clock", {"advance": 86_401})
    assert fresh.get(COUNT).status_code == 200


def test_concurrency_limit_gives_429(api: httpx.Client, emu: EmulatorServer) -> None:
    emu.control("config", {"concurrency": 1})
    emu.control("faults", {"latency_ms": 300})
    statuses: list[int] = []

    def call() -> None:
        statuses.append(api.get("/crm/v8/org").status_code)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 429]


def _together(*calls: Callable[[], httpx.Response]) -> list[int]:
    """Statuses of calls started at the same moment, in the order given."""
    statuses = [0] * len(calls)

    def run(n: int) -> None:
        statuses[n] = calls[n]().status_code

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_heavy_calls_share_the_sub_concurrency_limit(api: httpx.Client,
                                                     emu: EmulatorServer) -> None:
    emu.control("seed", {"accounts": 3})
    emu.control("config", {"sub_concurrency": 1})
    emu.control("faults", {"latency_ms": 300})

    def listing(**extra: str) -> Callable[[], httpx.Response]:
        return lambda: api.get("/crm/v8/Accounts", params={"fields": "Account_Name", **extra})

    def write(count: int) -> Callable[[], httpx.Response]:
        rows = [{"Account_Name": f"Heavy {count} {n}"} for n in range(count)]
        return lambda: api.post("/crm/v8/Accounts", json={"data": rows})

    sorted_list = listing(sort_by="Modified_Time")
    assert sorted(_together(sorted_list, sorted_list)) == [200, 429]
    assert sorted(_together(sorted_list, write(11))) in ([200, 429], [201, 429])
    # Plain lists and writes of up to ten records are not heavy.
    assert _together(listing(), listing(), write(10)) == [200, 200, 201]
    assert emu.control("stats")["credits"]["60012345"]["used_24h"] >= 1


def test_count_filters_by_criteria_email_and_word(api: httpx.Client) -> None:
    api.post("/crm/v8/Accounts", json={"data": [
        {"Account_Name": "Northwind Traders"}, {"Account_Name": "Northwind Foods"},
        {"Account_Name": "Contoso"}]})
    api.post("/crm/v8/Contacts", json={"data": [
        {"Last_Name": "Ng", "Email": "ng@example.com"}, {"Last_Name": "Li"}]})

    def count(module: str, **params: str) -> int:
        answer = api.get(f"/crm/v8/{module}/actions/count", params=params)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["count"])

    assert count("Accounts") == 3
    assert count("Accounts", criteria="(Account_Name:starts_with:Northwind)") == 2
    assert count("Accounts", word="contoso") == 1
    assert count("Contacts", email="NG@example.com") == 1
    bad = api.get(COUNT, params={"criteria": "(Account_Name:nonsense:x)"})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_QUERY"


def test_injected_errors(api: httpx.Client, emu: EmulatorServer) -> None:
    emu.control("faults", {"error_rates": {"500": 1.0}})
    answer = api.get("/crm/v8/org")
    assert answer.status_code == 500 and answer.json()["code"] == "INTERNAL_ERROR"
    assert emu.control("stats")["calls"]["GET org"] == 1


def test_scopes_per_endpoint(client_for: ClientFactory) -> None:
    reader = client_for(scope="ZohoCRM.modules.contacts.READ,ZohoCRM.settings.fields.READ")
    assert reader.get("/crm/v8/Contacts", params={"fields": "Email"}).status_code == 204
    assert reader.get("/crm/v8/settings/fields", params={"module": "Contacts"}).status_code == 200
    for answer in (reader.get("/crm/v8/Accounts", params={"fields": "Phone"}),
                   reader.post("/crm/v8/Contacts", json={"data": [{"Last_Name": "X"}]}),
                   reader.get("/crm/v8/settings/modules"), reader.get("/crm/v8/org"),
                   reader.get("/crm/v8/Contacts/actions/count")):
        assert answer.status_code == 401 and answer.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    writer = client_for(scope="ZohoCRM.modules.custom.WRITE")
    created = writer.post("/crm/v8/Projects", json={"data": [{"Name": "P"}]})
    assert created.status_code == 201
    assert writer.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "X"}]}
                       ).status_code == 401
    assert writer.get("/crm/v8/Projects", params={"fields": "Name"}).status_code == 401


def test_default_org_metadata(api: httpx.Client) -> None:
    org = api.get("/crm/v8/org").json()["org"][0]
    assert org["mc_status"] is True and org["iso_code"] == "CAD" and org["license_details"]
    codes = [c["iso_code"] for c in api.get("/crm/v8/org/currencies").json()["currencies"]]
    assert codes == ["CAD", "USD", "EUR", "GBP"]
    modules = {m["api_name"]: m for m in api.get("/crm/v8/settings/modules").json()["modules"]}
    assert {"Accounts", "Contacts", "Leads", "Deals", "Billing_Addresses",
            "Shipping_Addresses", "Projects"} <= set(modules)
    assert modules["Billing_Addresses"]["generated_type"] == "custom"
    fields = {f["api_name"]: f for f in api.get(
        "/crm/v8/settings/fields", params={"module": "Accounts"}).json()["fields"]}
    name = fields["Account_Name"]
    assert name["field_label"] == "Client Name" and name["system_mandatory"] is True
    for key in ("api_name", "display_label", "data_type", "json_type", "length", "read_only",
                "field_read_only", "custom_field", "lookup", "pick_list_values", "unique",
                "decimal_place", "currency", "convert_mapping", "visible", "profiles",
                "operation_type", "ui_type", "id"):
        assert key in name
    assert fields["Active"]["custom_field"] is True and fields["Active"]["data_type"] == "boolean"
    assert [v["actual_value"] for v in fields["Currency"]["pick_list_values"]] == codes
    lookup = api.get("/crm/v8/settings/fields", params={"module": "Shipping_Addresses"}).json()
    account = next(f for f in lookup["fields"] if f["api_name"] == "Account")
    assert account["lookup"]["module"]["api_name"] == "Accounts"
    me = api.get("/crm/v8/users", params={"type": "CurrentUser"}).json()["users"]
    assert [u["time_zone"] for u in me] == ["America/Toronto"]
    assert api.get("/crm/v8/settings/fields").json()["code"] == "REQUIRED_PARAM_MISSING"


def test_org_without_multi_currency(client_for: ClientFactory) -> None:
    other = client_for(org_id=OTHER_ORG)
    assert other.get("/crm/v8/org").json()["org"][0]["mc_status"] is False
    refused = other.get("/crm/v8/org/currencies")
    assert refused.status_code == 403 and refused.json()["code"] == "CURRENCIES_NOT_ENABLED"
    names = {f["api_name"] for f in other.get(
        "/crm/v8/settings/fields", params={"module": "Accounts"}).json()["fields"]}
    assert "Currency" not in names and "Account_Name" in names
    made = other.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Solo",
                                                           "Currency": "EUR"}]})
    assert made.status_code == 201
    assert other.get("/crm/v8/Accounts", params={"fields": "Account_Name"}
                     ).json()["data"][0]["Account_Name"] == "Solo"


def test_control_adds_fields_and_modules(api: httpx.Client, emu: EmulatorServer) -> None:
    emu.control("fields", {"module": "Accounts", "api_name": "Tax_Number", "data_type": "text",
                           "unique": True})
    emu.control("modules", {"api_name": "Vehicles", "fields": [
        {"api_name": "Account", "data_type": "lookup", "lookup": "Accounts"}]})
    aid = api.post("/crm/v8/Accounts", json={"data": [
        {"Account_Name": "T", "Tax_Number": "GB1"}]}).json()["data"][0]["details"]["id"]
    dup = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "U", "Tax_Number": "gb1"}]})
    assert dup.json()["data"][0]["details"]["api_name"] == "Tax_Number"
    car = api.post("/crm/v8/Vehicles", json={"data": [{"Name": "Van", "Account": aid}]})
    assert car.status_code == 201
    listed = api.get("/crm/v8/Vehicles", params={"fields": "Name,Account"}).json()["data"]
    assert listed[0]["Account"] == {"name": "T", "id": aid}
