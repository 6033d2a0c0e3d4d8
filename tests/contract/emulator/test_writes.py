"""Writes: caps, per-record results, duplicates, edits as another user, deletes and cascades."""

from __future__ import annotations

import json

import httpx

from zoho_emulator.events import ChangeEvent
from zoho_emulator.testing import EmulatorServer

from .conftest import SECOND_USER, ClientFactory


def test_hundred_per_write_and_credits_per_ten_records(api: httpx.Client,
                                                       emu: EmulatorServer) -> None:
    too_many = api.post("/crm/v8/Accounts", json={"data": [
        {"Account_Name": f"A{i}"} for i in range(101)]})
    assert too_many.status_code == 400 and too_many.json()["code"] == "LIMIT_EXCEEDED"
    ok = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": f"A{i}"}
                                                     for i in range(100)]})
    assert ok.status_code == 201 and len(ok.json()["data"]) == 100
    assert emu.control("stats")["credits"]["60012345"]["used_24h"] == 10
    assert len(emu.state.default_org.store("Accounts")) == 100


def test_partial_success_and_per_record_errors(api: httpx.Client) -> None:
    answer = api.post("/crm/v8/Contacts", content=json.dumps({"data": [
        {"Last_Name": "Ok", "Email": "ok@example.com"},
        {"First_Name": "No last name"},
        {"Last_Name": "Bad", "Email": "not-an-email"},
        {"Last_Name": "Dup", "Email": "OK@example.com"},
        {"Last_Name": "Bad lookup", "Account_Name": {"id": "123"}},
    ], "trigger": []}))  # no Content-Type header on purpose
    assert answer.status_code == 207
    assert answer.headers["content-type"] == "application/json;charset=UTF-8"
    data = answer.json()["data"]
    assert data[0]["code"] == "SUCCESS" and data[0]["message"] == "record added"
    assert data[1] == {"code": "MANDATORY_NOT_FOUND", "status": "error",
                       "message": "required field not found",
                       "details": {"api_name": "Last_Name", "json_path": "$.data[1].Last_Name"}}
    assert data[2]["code"] == "INVALID_DATA"
    assert data[2]["details"]["api_name"] == "Email"
    assert data[2]["details"]["json_path"] == "$.data[2].Email"
    assert data[3]["code"] == "DUPLICATE_DATA"
    assert data[3]["details"]["duplicate_record"]["id"] == data[0]["details"]["id"]
    assert data[4]["code"] == "INVALID_DATA" and data[4]["details"]["api_name"] == "Account_Name"
    all_bad = api.post("/crm/v8/Contacts", json={"data": [{"Email": "x@y.z"}]})
    assert all_bad.status_code == 400 and all_bad.json()["data"][0]["status"] == "error"
    not_objects = {"code": "INVALID_DATA", "status": "error", "message": "invalid data",
                   "details": {"api_name": "data", "json_path": "$.data[0]"}}
    for method in ("POST", "PUT"):
        answer = api.request(method, "/crm/v8/Contacts", json={"data": ["Ok"]})
        assert answer.status_code == 400 and answer.json()["data"] == [not_objects]


def test_account_name_duplicate_check_and_update(api: httpx.Client, emu: EmulatorServer,
                                                 client_for: ClientFactory) -> None:
    emu.control("clock", {"set": "2026-04-01T09:00:00+00:00", "freeze": True})
    first, second = (r["details"]["id"] for r in api.post("/crm/v8/Accounts", json={"data": [
        {"Account_Name": "Acme Ltd"}, {"Account_Name": "Beta GmbH"}]}).json()["data"])
    dup = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "acme ltd"}]})
    assert dup.status_code == 400
    assert dup.json()["data"][0]["details"]["api_name"] == "Account_Name"
    clash = api.put("/crm/v8/Accounts", json={"data": [{"id": int(second),
                                                        "Account_Name": "Acme Ltd"}]})
    assert clash.json()["data"][0]["code"] == "DUPLICATE_DATA"
    emu.control("clock", {"advance": 5})
    seller = client_for(user_id=SECOND_USER)
    edited = seller.put(f"/crm/v8/Accounts/{first}", json={"data": [{"Employees": 12}]})
    assert edited.status_code == 200
    details = edited.json()["data"][0]["details"]
    assert details["Modified_By"] == {"name": "Sam Seller", "id": SECOND_USER}
    assert details["Modified_Time"] == "2026-04-01T10:00:05+01:00"  # London summer time
    mixed = api.put("/crm/v8/Accounts", json={"data": [{"id": first, "Phone": "2"},
                                                       {"id": "999", "Phone": "3"},
                                                       {"Phone": "4"}]})
    assert mixed.status_code == 207
    assert [r["code"] for r in mixed.json()["data"]] == [
        "SUCCESS", "INVALID_DATA", "MANDATORY_NOT_FOUND"]
    record = api.get(f"/crm/v8/Accounts/{first}").json()["data"][0]
    assert record["Employees"] == 12 and record["Phone"] == "2"
    assert record["Created_Time"] == "2026-04-01T05:00:00-04:00"
    assert record["Currency"] == "CAD" and record["Account_Name"] == "Acme Ltd"


def test_lookup_shows_current_name_and_events_are_published(api: httpx.Client,
                                                            emu: EmulatorServer) -> None:
    events: list[ChangeEvent] = []
    unsubscribe = emu.state.subscribe(events.append)
    try:
        aid = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Old"}]}).json()[
            "data"][0]["details"]["id"]
        cid = api.post("/crm/v8/Contacts", json={"data": [
            {"Last_Name": "Li", "Account_Name": {"id": aid}}], "trigger": ["workflow"]}).json()[
            "data"][0]["details"]["id"]
        api.put("/crm/v8/Accounts", json={"data": [{"id": aid, "Account_Name": "New"}]})
    finally:
        unsubscribe()
    contact = api.get(f"/crm/v8/Contacts/{cid}").json()["data"][0]
    assert contact["Account_Name"] == {"name": "New", "id": aid}
    assert [(e.module, e.operation, e.via_api) for e in events] == [
        ("Accounts", "insert", True), ("Contacts", "insert", True), ("Accounts", "update", True)]
    assert events[1].trigger == ["workflow"] and events[0].trigger is None
    assert events[2].changed == {aid: {"Account_Name": "New"}}


def test_delete_recycle_bin_and_account_cascade(api: httpx.Client, emu: EmulatorServer) -> None:
    emu.control("seed", {"accounts": 2, "contacts_per_account": 2, "addresses_per_account": 1})
    org = emu.state.default_org
    aid = next(iter(org.store("Accounts").records))
    children = [r for r, rec in org.store("Contacts").records.items()
                if rec.get("Account_Name") == aid]
    address = next(r for r, rec in org.store("Billing_Addresses").records.items()
                   if rec["Account"] == aid)
    before = org.store("Billing_Addresses").records[address]["Modified_Time"]
    too_many = api.delete("/crm/v8/Accounts", params={"ids": ",".join(["1"] * 101)})
    assert too_many.json()["code"] == "LIMIT_EXCEEDED"
    answer = api.delete("/crm/v8/Accounts", params={"ids": f"{aid},42"})
    assert answer.status_code == 207
    assert answer.json()["data"][0] == {"code": "SUCCESS", "details": {"id": str(aid)},
                                        "message": "record deleted", "status": "success"}
    assert answer.json()["data"][1]["code"] == "INVALID_DATA"
    assert api.get(f"/crm/v8/Accounts/{aid}").status_code == 204
    deleted = api.get("/crm/v8/Accounts/deleted").json()["data"]
    assert [d["id"] for d in deleted] == [str(aid)] and deleted[0]["type"] == "recycle"
    bad_page = api.get("/crm/v8/Accounts/deleted", params={"per_page": "ten"})
    assert bad_page.status_code == 400
    assert bad_page.json()["details"] == {"param_name": "per_page", "expected_data_type": "integer"}
    # Contacts of the account go to the recycle bin with it; custom-module lookups are emptied.
    gone = {d["id"] for d in api.get("/crm/v8/Contacts/deleted").json()["data"]}
    assert gone == {str(c) for c in children}
    kept = api.get(f"/crm/v8/Billing_Addresses/{address}").json()["data"][0]
    assert kept["Account"] is None
    assert org.store("Billing_Addresses").records[address]["Modified_Time"] == before
    assert api.get("/crm/v8/Deals/deleted").status_code == 204
    emu.control("clock", {"advance": 61 * 86_400})
    fresh = emu.access_token()
    late = api.get("/crm/v8/Accounts/deleted",
                   headers={"Authorization": f"Zoho-oauthtoken {fresh}"}).json()["data"]
    assert late[0]["type"] == "permanent" and late[0]["display_name"] is None


def test_locked_records_refuse_updates_and_deletes_one_by_one(api: httpx.Client,
                                                             emu: EmulatorServer) -> None:
    made = api.post("/crm/v8/Accounts", json={"data": [
        {"Account_Name": "Locked Ltd"}, {"Account_Name": "Open Ltd"}]}).json()["data"]
    locked, free = (entry["details"]["id"] for entry in made)
    assert emu.control("locks", {"module": "Accounts", "ids": [locked]})["locked"] == [locked]
    answer = api.put("/crm/v8/Accounts", json={"data": [
        {"id": locked, "Website": "https://locked.example"},
        {"id": free, "Website": "https://open.example"}]})
    assert answer.status_code == 207
    refused, done = answer.json()["data"]
    assert refused == {"code": "RECORD_LOCKED", "status": "error",
                       "message": "the record is locked", "details": {"id": locked}}
    assert done["status"] == "success"
    one = api.put(f"/crm/v8/Accounts/{locked}", json={"data": [{"Website": "https://x.example"}]})
    assert one.status_code == 400 and one.json()["data"][0]["code"] == "RECORD_LOCKED"
    gone = api.delete("/crm/v8/Accounts", params={"ids": f"{locked},{free}"})
    assert [d["code"] for d in gone.json()["data"]] == ["RECORD_LOCKED", "SUCCESS"]
    store = emu.state.default_org.store("Accounts")
    assert store.get(int(locked)) is not None and "Website" not in store.get(int(locked))
    emu.control("locks", {"module": "Accounts", "ids": [locked], "locked": False})
    again = api.put("/crm/v8/Accounts", json={"data": [{"id": locked, "Website": "https://y.example"}]})
    assert again.status_code == 200
    unknown = httpx.post(f"{emu.base_url}/__emulator__/locks",
                         json={"module": "Accounts", "ids": ["1"]})
    assert unknown.status_code == 400 and "has no records [1]" in unknown.json()["error"]
