"""Listing: fields rules, the 2,000-record page window, page tokens, sorting, 204 and 304."""

from __future__ import annotations

import httpx
import pytest

from zoho_emulator.testing import EmulatorServer

from .conftest import SECOND_USER, ClientFactory

FIELDS = "Account_Name,Modified_Time"


def _page(api: httpx.Client, **params: object) -> httpx.Response:
    return api.get("/crm/v8/Accounts", params={"fields": FIELDS, **params})


def test_fields_required_from_v3_and_capped_at_fifty(api: httpx.Client,
                                                     emu: EmulatorServer) -> None:
    emu.control("seed", {"accounts": 3})
    missing = api.get("/crm/v8/Accounts")
    assert missing.status_code == 400 and missing.json() == {
        "code": "REQUIRED_PARAM_MISSING", "details": {"param_name": "fields"},
        "message": "One of the expected parameter is missing", "status": "error"}
    v2 = api.get("/crm/v2/Accounts")
    assert v2.status_code == 200 and "Billing_City" in v2.json()["data"][0]
    names = [f"Custom_{i}" for i in range(49)]
    assert api.get("/crm/v8/Accounts", params={"fields": ",".join(
        ["Account_Name", *names])}).status_code == 200
    over = api.get("/crm/v8/Accounts", params={"fields": ",".join(["Phone", "Account_Name",
                                                                   *names])})
    assert over.status_code == 400 and over.json()["code"] == "LIMIT_EXCEEDED"
    row = _page(api).json()["data"][0]
    assert set(row) == {"id", "Account_Name", "Modified_Time"} and len(row["id"]) == 19
    assert api.get("/crm/v8/Accounts", params={"fields": FIELDS, "per_page": 201}
                   ).status_code == 400


def test_page_window_then_page_token_walks_everything(api: httpx.Client,
                                                      emu: EmulatorServer) -> None:
    emu.control("seed", {"accounts": 2100})
    seen: list[str] = []
    for page in range(1, 11):
        body = _page(api, page=page).json()
        assert body["info"]["more_records"] is True and body["info"]["count"] == 200
        seen += [r["id"] for r in body["data"]]
    beyond = _page(api, page=11)
    assert beyond.status_code == 400
    assert beyond.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    token = body["info"]["next_page_token"]
    assert body["info"]["page_token_expiry"]
    ambiguous = _page(api, page=1, page_token=token)
    assert ambiguous.json()["code"] == "AMBIGUITY_DURING_PROCESSING"
    last = _page(api, page_token=token).json()
    seen += [r["id"] for r in last["data"]]
    assert last["info"]["more_records"] is False and last["info"]["next_page_token"] is None
    assert len(seen) == len(set(seen)) == 2100
    assert seen == sorted(seen, reverse=True)  # default sort: id desc


def test_page_token_binding_user_expiry_and_cap(api: httpx.Client, emu: EmulatorServer,
                                                client_for: ClientFactory) -> None:
    emu.control("seed", {"accounts": 700})
    token = _page(api).json()["info"]["next_page_token"]
    other = _page(api, page_token=token, sort_order="asc")
    assert other.status_code == 400 and other.json()["code"] == "TOKEN_BOUND_DATA_MISMATCH"
    second = client_for(user_id=SECOND_USER)
    foreign = second.get("/crm/v8/Accounts", params={"fields": FIELDS, "page_token": token})
    assert foreign.status_code == 400 and foreign.json()["code"] == "INVALID_DATA"
    emu.control("config", {"page_token_cap": 500})
    walked = 200
    while True:
        answer = _page(api, page_token=token)
        if answer.status_code != 200:
            break
        walked += answer.json()["info"]["count"]
        token = answer.json()["info"]["next_page_token"]
    assert walked == 500
    assert answer.status_code == 400 and answer.json()["code"] == "PAGINATION_LIMIT_EXCEEDED"
    fresh = _page(api).json()["info"]["next_page_token"]
    emu.control("clock", {"advance": 86_401})
    expired = _page(client_for(), page_token=fresh)
    assert expired.status_code == 400 and expired.json()["code"] == "EXPIRED_VALUE"


def test_sort_by_modified_time_and_if_modified_since(api: httpx.Client,
                                                     emu: EmulatorServer) -> None:
    emu.control("clock", {"set": "2026-03-01T12:00:00+00:00", "freeze": True})
    ids = [r["details"]["id"] for r in api.post("/crm/v8/Accounts", json={"data": [
        {"Account_Name": f"Sort {i}"} for i in range(3)]}).json()["data"]]
    emu.control("clock", {"advance": 10})
    api.put("/crm/v8/Accounts", json={"data": [{"id": ids[0], "Phone": "1"}]})
    asc = _page(api, sort_by="Modified_Time", sort_order="asc").json()["data"]
    assert [r["id"] for r in asc] == [ids[1], ids[2], ids[0]]
    assert asc[-1]["Modified_Time"] == "2026-03-01T07:00:10-05:00"  # admin is in Toronto
    since = {"If-Modified-Since": "2026-03-01T12:00:10+00:00"}
    changed = api.get("/crm/v8/Accounts", params={"fields": FIELDS}, headers=since)
    assert [r["id"] for r in changed.json()["data"]] == [ids[0]]  # inclusive (>=)
    later = {"If-Modified-Since": "2026-03-01T12:00:11+00:00"}
    unchanged = api.get("/crm/v8/Accounts", params={"fields": FIELDS}, headers=later)
    assert unchanged.status_code == 304 and unchanged.content == b""


@pytest.mark.parametrize("module", ["Contacts", "Leads", "Projects"])
def test_empty_module_is_204_without_body(api: httpx.Client, module: str) -> None:
    answer = api.get(f"/crm/v8/{module}", params={"fields": "Last_Name"})
    assert answer.status_code == 204 and answer.content == b""


def test_unknown_module_and_url(api: httpx.Client) -> None:
    bad = api.get("/crm/v8/Nope", params={"fields": "Name"})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_MODULE"
    assert api.get("/crm/v9/Accounts").json()["code"] == "INVALID_URL_PATTERN"
