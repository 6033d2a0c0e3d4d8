"""Search (criteria, email, phone, word, limits, index lag) and COQL over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from zoho_emulator.testing import EmulatorServer

from .conftest import ClientFactory


def _seed(api: httpx.Client) -> list[str]:
    rows = [
        {"Account_Name": "ABC Inc", "Phone": "+1 416 555 0101", "Employees": 10,
         "Billing_Country": "Canada", "Account_Type": "Customer"},
        {"Account_Name": "Burns, B Ltd", "Phone": "+44 113 000 0000", "Employees": 250,
         "Billing_Country": "United Kingdom", "Account_Type": "Prospect"},
        {"Account_Name": "Cedar (North) Co", "Employees": 40, "Billing_Country": "Canada",
         "Website": "https://cedar.example"},
    ]
    answer = api.post("/crm/v8/Accounts", json={"data": rows, "trigger": []})
    return [d["details"]["id"] for d in answer.json()["data"]]


def _search(api: httpx.Client, **params: str) -> httpx.Response:
    return api.get("/crm/v8/Accounts/search", params={"fields": "Account_Name", **params})


def _names(answer: httpx.Response) -> list[str]:
    if answer.status_code == 204:
        return []
    assert answer.status_code == 200, answer.text
    return [r["Account_Name"] for r in answer.json()["data"]]


def test_search_criteria_operators(api: httpx.Client) -> None:
    _seed(api)
    assert _names(_search(api, criteria="(Account_Name:equals:ABC)")) == ["ABC Inc"]
    assert _names(_search(api, criteria="(Account_Name:starts_with:ced)")) == [
        "Cedar (North) Co"]
    assert _names(_search(api, criteria=r"(Account_Name:equals:Burns\, B Ltd)")) == [
        "Burns, B Ltd"]
    assert _names(_search(api, criteria=r"(Account_Name:in:Cedar \(North\) Co,ABC Inc)")) == [
        "ABC Inc", "Cedar (North) Co"]
    assert _names(_search(api, criteria="((Billing_Country:equals:Canada)and"
                                        "(Employees:greater_than:20))")) == ["Cedar (North) Co"]
    assert _names(_search(api, criteria="((Employees:less_equal:10)or"
                                        "(Employees:between:200,300))")) == [
        "ABC Inc", "Burns, B Ltd"]
    assert _names(_search(api, criteria="(Account_Type:not_equal:Customer)")) == [
        "Burns, B Ltd", "Cedar (North) Co"]
    assert _search(api, criteria="(Account_Name:equals:Nobody)").status_code == 204
    since = _search(api, criteria="(Modified_Time:greater_equal:2020-01-01T00:00:00+00:00)")
    assert len(_names(since)) == 3


def test_search_email_phone_word_and_errors(api: httpx.Client) -> None:
    _seed(api)
    api.post("/crm/v8/Contacts", json={"data": [{"Last_Name": "Ng", "Email": "ng@x.example"}]})
    contacts = api.get("/crm/v8/Contacts/search", params={"email": "NG@x.example"})
    assert contacts.json()["data"][0]["Last_Name"] == "Ng"
    assert _names(_search(api, phone="0113 000 0000")) == []
    assert _names(_search(api, phone="113 000 0000")) == ["Burns, B Ltd"]
    assert _names(_search(api, word="cedar")) == ["Cedar (North) Co"]
    short = _search(api, word="c")
    assert short.status_code == 400
    bad_op = _search(api, criteria="(Employees:starts_with:1)")
    assert bad_op.status_code == 400 and bad_op.json()["code"] == "INVALID_QUERY"
    assert bad_op.json()["details"]["api_name"] == "Employees"
    assert _search(api, criteria="(Account_Name:equals:A").json()["code"] == "INVALID_QUERY"
    many = "(" + "and".join(["(Employees:greater_than:1)"] * 16) + ")"
    assert _search(api, criteria=many).json()["code"] == "CRITERIA_LIMIT_EXCEEDED"
    assert _search(api).json()["code"] == "REQUIRED_PARAM_MISSING"
    far = _search(api, criteria="(Employees:greater_than:1)", page="11")
    assert far.status_code == 400 and far.json()["code"] == "LIMIT_REACHED"


def test_search_index_lag(api: httpx.Client, emu: EmulatorServer) -> None:
    emu.control("clock", {"set": "2026-05-14T09:00:00+00:00", "freeze": True})
    emu.control("search", {"index_lag_seconds": 30})
    api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Fresh Ltd"}]})
    assert _search(api, criteria="(Account_Name:equals:Fresh)").status_code == 204
    assert api.post("/crm/v8/coql", json={
        "select_query": "select Account_Name from Accounts where Account_Name = 'Fresh Ltd'"
    }).status_code == 200  # COQL reads fresh data
    emu.control("clock", {"advance": 31})
    assert _names(_search(api, criteria="(Account_Name:equals:Fresh)")) == ["Fresh Ltd"]


def _coql(api: httpx.Client, query: str) -> httpx.Response:
    return api.post("/crm/v8/coql", json={"select_query": query})


def _rows(api: httpx.Client, where: str, extra: str = "") -> list[str]:
    answer = _coql(api, f"select Account_Name from Accounts where {where} {extra}")
    if answer.status_code == 204:
        return []
    assert answer.status_code == 200, answer.text
    return [r["Account_Name"] for r in answer.json()["data"]]


def test_coql_operators(api: httpx.Client) -> None:
    ids = _seed(api)
    assert _rows(api, "Billing_Country = 'Canada'") == ["ABC Inc", "Cedar (North) Co"]
    assert _rows(api, "Billing_Country != 'Canada'") == ["Burns, B Ltd"]
    assert _rows(api, "Employees > 40") == ["Burns, B Ltd"]
    assert _rows(api, "Employees >= 40") == ["Burns, B Ltd", "Cedar (North) Co"]
    assert _rows(api, "Employees < 40") == ["ABC Inc"]
    assert _rows(api, "Employees <= 40") == ["ABC Inc", "Cedar (North) Co"]
    assert _rows(api, "Account_Name like 'burns%'") == ["Burns, B Ltd"]
    assert _rows(api, "Account_Name not like '%Co'") == ["ABC Inc", "Burns, B Ltd"]
    assert _rows(api, "Account_Type in ('Customer', 'Prospect')") == ["ABC Inc",
                                                                      "Burns, B Ltd"]
    assert _rows(api, "Account_Type not in ('Customer')") == ["Burns, B Ltd",
                                                             "Cedar (North) Co"]
    assert _rows(api, "Website is null") == ["ABC Inc", "Burns, B Ltd"]
    assert _rows(api, "Website is not null") == ["Cedar (North) Co"]
    assert _rows(api, "Employees between 20 and 300") == ["Burns, B Ltd", "Cedar (North) Co"]
    assert _rows(api, f"id = '{ids[1]}'") == ["Burns, B Ltd"]
    assert _rows(api, "((Billing_Country = 'Canada' and Employees > 5) or "
                      "Account_Type = 'Prospect')") == ["ABC Inc", "Burns, B Ltd",
                                                        "Cedar (North) Co"]
    assert _rows(api, "Account_Name = 'O''Brien'") == []
    assert _rows(api, "Modified_Time >= '2020-01-01T00:00:00+00:00'") == [
        "ABC Inc", "Burns, B Ltd", "Cedar (North) Co"]


def test_coql_order_limit_offset_and_shape(api: httpx.Client) -> None:
    ids = _seed(api)
    assert _rows(api, "id is not null", "order by Employees desc") == [
        "Burns, B Ltd", "Cedar (North) Co", "ABC Inc"]
    assert _rows(api, "id is not null", "order by Employees asc limit 1, 1") == [
        "Cedar (North) Co"]
    assert _rows(api, "id is not null", "order by Employees limit 2 offset 1") == [
        "Cedar (North) Co", "Burns, B Ltd"]
    page = _coql(api, "select Account_Name, Owner, Modified_Time from Accounts "
                      "where id is not null limit 2").json()
    assert page["info"] == {"count": 2, "more_records": True}
    row: dict[str, Any] = page["data"][0]
    assert row["id"] == ids[0] and row["Owner"]["name"] == "Jo Admin"
    assert row["Modified_Time"].endswith(("-04:00", "-05:00"))
    contact = api.post("/crm/v8/Contacts", json={"data": [
        {"Last_Name": "Ng", "Account_Name": {"id": ids[0]}}]})
    assert contact.status_code == 201
    joined = _coql(api, "select Last_Name, Account_Name, Account_Name.Account_Name from "
                        "Contacts where Account_Name.Billing_Country = 'Canada'").json()
    assert joined["data"][0]["Account_Name"] == {"name": "ABC Inc", "id": ids[0]}
    assert joined["data"][0]["Account_Name.Account_Name"] == "ABC Inc"


def test_coql_errors_and_limits(client_for: ClientFactory) -> None:
    api = client_for()
    _seed(api)

    def code(query: str) -> str:
        answer = _coql(api, query)
        assert answer.status_code == 400, answer.text
        return str(answer.json()["code"])

    assert code("select from Accounts where id is not null") == "SYNTAX_ERROR"
    assert code("select Account_Name from Accounts") == "SYNTAX_ERROR"  # WHERE required
    assert code("select Account_Name from Accounts where Employees > 1 and Employees < 9 "
                "and Employees > 2") == "SYNTAX_ERROR"
    assert code("select Nope from Accounts where id is not null") == "INVALID_QUERY"
    assert code("select Account_Name from Nowhere where id is not null") == "INVALID_QUERY"
    assert code("select Account_Name from Accounts where Employees like '1%'") == (
        "INVALID_QUERY")
    assert code("select Account_Name from Accounts where id is not null limit 2001") == (
        "LIMIT_EXCEEDED")
    assert code("select Account_Name from Accounts where id is not null limit 9999, 2") == (
        "LIMIT_EXCEEDED")
    assert code("select Account_Name, Account_Name from Accounts where id is not null") == (
        "DUPLICATE_DATA")
    assert _coql(api, "select Account_Name from Accounts where Employees > 99999"
                 ).status_code == 204
    no_scope = client_for(scope="ZohoCRM.modules.ALL")
    assert _coql(no_scope, "select Account_Name from Accounts where id is not null"
                 ).json()["code"] == "OAUTH_SCOPE_MISMATCH"
