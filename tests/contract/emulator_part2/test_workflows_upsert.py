"""Workflow rules after API writes (and not with `trigger: []`), and upsert."""

from __future__ import annotations

import httpx

from zoho_emulator.receiver import CallbackReceiver
from zoho_emulator.testing import EmulatorServer

from .conftest import watch


def _account(api: httpx.Client, rid: str) -> dict[str, object]:
    body = api.get(f"/crm/v8/Accounts/{rid}").json()
    return dict(body["data"][0])


def test_workflow_rule_changes_the_record_after_an_api_write(
        api: httpx.Client, hooks: CallbackReceiver, emu: EmulatorServer) -> None:
    rule = emu.control("workflows", {"module": "Accounts", "field": "Account_Type",
                                     "value": "Customer"})
    assert rule["on"] == ["create", "edit"]
    watch(api, hooks, return_affected_field_values=True)
    emu.control("clock", {"set": "2026-05-14T09:00:00+00:00", "freeze": True})
    answer = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Echo Ltd"}]})
    rid = answer.json()["data"][0]["details"]["id"]
    emu.control("clock", {"advance": 5})
    api.put(f"/crm/v8/Accounts/{rid}", json={"data": [{"Account_Type": "Prospect"}]})
    record = _account(api, rid)
    assert record["Account_Type"] == "Customer"  # the rule set it back after the edit
    assert record["Modified_Time"] == "2026-05-14T05:00:05-04:00"
    calls = hooks.wait_for(lambda c: len(c) >= 4)
    assert [c.body["operation"] for c in calls] == ["insert", "update", "update", "update"]
    assert calls[1].body["affected_values"] == [
        {"record_id": rid, "values": {"Account_Type": "Customer"}}]
    assert calls[2].body["affected_values"][0]["values"] == {"Account_Type": "Prospect"}


def test_no_workflow_when_trigger_is_empty(api: httpx.Client, emu: EmulatorServer) -> None:
    emu.control("workflows", {"module": "Accounts", "field": "Account_Type",
                              "value": "Customer", "on": ["create"]})
    quiet = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Quiet"}],
                                               "trigger": []})
    loud = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Loud"}],
                                              "trigger": ["workflow"]})
    assert _account(api, quiet.json()["data"][0]["details"]["id"]).get("Account_Type") is None
    assert _account(api, loud.json()["data"][0]["details"]["id"])["Account_Type"] == "Customer"
    bad = httpx.post(f"{emu.base_url}/__emulator__/workflows",
                     json={"module": "Accounts", "field": "Nope", "value": 1})
    assert bad.status_code == 400


def test_upsert_inserts_then_updates(api: httpx.Client, hooks: CallbackReceiver) -> None:
    watch(api, hooks)
    first = api.post("/crm/v8/Accounts/upsert", json={"data": [
        {"Account_Name": "Upsert Co", "Phone": "1"}]})
    assert first.status_code == 200
    entry = first.json()["data"][0]
    assert (entry["action"], entry["duplicate_field"], entry["code"]) == ("insert", None,
                                                                          "SUCCESS")
    rid = entry["details"]["id"]
    second = api.post("/crm/v8/Accounts/upsert", json={"data": [
        {"Account_Name": "upsert co", "Phone": "2"}, {"Account_Name": "Fresh Co"},
        {"Phone": "no name"}]})
    assert second.status_code == 207
    data = second.json()["data"]
    assert (data[0]["action"], data[0]["duplicate_field"]) == ("update", "Account_Name")
    assert data[0]["details"]["id"] == rid and data[0]["message"] == "record updated"
    assert data[1]["action"] == "insert"
    assert data[2]["code"] == "MANDATORY_NOT_FOUND"
    assert data[2]["details"]["json_path"] == "$.data[2].Account_Name"
    assert _account(api, rid)["Phone"] == "2"
    calls = hooks.wait_for(lambda c: len(c) >= 3)
    assert [(c.body["operation"], len(c.body["ids"])) for c in calls] == [
        ("insert", 1), ("update", 1), ("insert", 1)]


def test_upsert_with_duplicate_check_fields(api: httpx.Client, emu: EmulatorServer) -> None:
    emu.control("fields", {"module": "Contacts", "api_name": "External_Id", "unique": True})
    api.post("/crm/v8/Contacts", json={"data": [
        {"Last_Name": "Ng", "Email": "ng@example.com", "External_Id": "X1"}]})
    by_external = api.post("/crm/v8/Contacts/upsert", json={
        "duplicate_check_fields": ["External_Id"],
        "data": [{"Last_Name": "Ng", "Email": "other@example.com", "External_Id": "X1"}]})
    entry = by_external.json()["data"][0]
    assert (entry["action"], entry["duplicate_field"]) == ("update", "External_Id")
    by_email = api.post("/crm/v8/Contacts/upsert", json={
        "data": [{"Last_Name": "Ng 2", "Email": "OTHER@example.com"}]})
    assert by_email.json()["data"][0]["duplicate_field"] == "Email"
    refused = api.post("/crm/v8/Contacts/upsert", json={
        "duplicate_check_fields": ["Last_Name"], "data": [{"Last_Name": "x"}]})
    assert refused.status_code == 400 and refused.json()["code"] == "INVALID_DATA"
