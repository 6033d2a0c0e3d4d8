"""actions/watch over real HTTP: channel CRUD and the callbacks of section 6.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from zoho_emulator.receiver import CallbackReceiver
from zoho_emulator.testing import EmulatorServer

from .conftest import SECOND_USER, WATCH, ClientFactory, create_account, watch


def test_enable_answers_201_with_one_event_entry_per_module(api: httpx.Client,
                                                            hooks: CallbackReceiver) -> None:
    answer = watch(api, hooks, events=["Accounts.all", "Contacts.create"])
    assert answer.status_code == 201
    entry = answer.json()["watch"][0]
    assert entry["code"] == "SUCCESS"
    assert entry["message"] == "Successfully subscribed for actions-watch of the given module"
    events = entry["details"]["events"]
    assert [e["resource_name"] for e in events] == ["Accounts", "Contacts"]
    assert events[0]["channel_id"] == "1000000068001"
    assert events[0]["resource_uri"].endswith("/crm/v2/Accounts")


def test_callbacks_for_create_edit_delete_of_the_clients_own_writes(
        api: httpx.Client, hooks: CallbackReceiver) -> None:
    watch(api, hooks)
    rid = create_account(api, "Acme Ltd")
    assert api.put(f"/crm/v8/Accounts/{rid}", json={"data": [{"Phone": "0113"}]}
                   ).status_code == 200
    assert api.delete(f"/crm/v8/Accounts/{rid}").status_code == 200
    calls = hooks.wait_for(lambda c: len(c) >= 3)
    assert [c.body["operation"] for c in calls] == ["insert", "update", "delete"]
    first = calls[0]
    assert first.path == "/zoho" and first.query == {"src": "crm"}
    assert first.body["ids"] == [rid] and first.body["module"] == "Accounts"
    assert first.body["channel_id"] == "1000000068001"
    assert first.body["token"] == "s3cr3t-verify-1"
    assert first.body["query_params"] == {"src": "crm"}
    assert first.body["affected_fields"] == []
    assert isinstance(first.body["server_time"], int) and first.body["server_time"] > 1e12
    assert calls[1].body["affected_fields"] == [{rid: ["Phone"]}]
    assert "affected_values" not in calls[1].body


def test_affected_values_when_asked_and_batched_ids(api: httpx.Client,
                                                    hooks: CallbackReceiver) -> None:
    watch(api, hooks, return_affected_field_values=True)
    answer = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "A"},
                                                         {"Account_Name": "B"}]})
    ids = [d["details"]["id"] for d in answer.json()["data"]]
    api.put("/crm/v8/Accounts", json={"data": [{"id": ids[0], "Phone": "1"},
                                               {"id": ids[1], "Website": "https://b.example"}]})
    calls = hooks.wait_for(lambda c: len(c) >= 2)
    assert calls[0].body["ids"] == ids  # one callback for the batch
    update = calls[1].body
    assert update["ids"] == ids
    assert update["affected_values"] == [
        {"record_id": ids[0], "values": {"Phone": "1"}},
        {"record_id": ids[1], "values": {"Website": "https://b.example"}}]


def test_writes_by_another_user_and_event_filters(client_for: ClientFactory,
                                                  hooks: CallbackReceiver) -> None:
    admin = client_for()
    watch(admin, hooks, events=["Accounts.edit", "Contacts.delete"])
    rid = create_account(admin, "Only edits count")
    other = client_for(user_id=SECOND_USER)
    other.put(f"/crm/v8/Accounts/{rid}", json={"data": [{"Phone": "2"}]})
    calls = hooks.wait_for(lambda c: len(c) >= 1)
    hooks.wait_for(lambda c: len(c) >= 2, timeout=0.3)
    assert [c.body["operation"] for c in hooks.calls] == ["update"]
    assert calls[0].body["ids"] == [rid]


def test_channel_expiry_stops_callbacks_silently(client_for: ClientFactory,
                                                 hooks: CallbackReceiver,
                                                 emu: EmulatorServer) -> None:
    api = client_for()
    watch(api, hooks)
    create_account(api, "Before expiry")
    hooks.wait_for(lambda c: len(c) >= 1)
    emu.control("clock", {"advance": 3601})  # default expiry: one hour
    api = client_for()  # the first token has expired too
    create_account(api, "After expiry")
    hooks.wait_for(lambda c: len(c) >= 2, timeout=0.5)
    assert len(hooks.calls) == 1
    assert api.get(WATCH).status_code == 204  # expired channels are not listed


def test_expiry_default_max_and_token_length(api: httpx.Client, hooks: CallbackReceiver,
                                             emu: EmulatorServer) -> None:
    now = emu.state.clock.now()
    far = (now + timedelta(days=8)).isoformat()
    answer = watch(api, hooks, channel_expiry=far)
    expiry = datetime.fromisoformat(answer.json()["watch"][0]["details"]["events"][0][
        "channel_expiry"])
    assert abs((expiry - now).total_seconds() - 3600) < 5  # over a week -> the default hour
    week = (now + timedelta(days=6)).astimezone(UTC).replace(microsecond=0)
    answer = watch(api, hooks, channel_id="2", channel_expiry=week.isoformat())
    got = answer.json()["watch"][0]["details"]["events"][0]["channel_expiry"]
    assert datetime.fromisoformat(got) == week
    refused = watch(api, hooks, channel_id="3", token="x" * 51)
    assert refused.status_code == 400
    assert refused.json()["watch"][0]["code"] == "INVALID_DATA"
    assert refused.json()["watch"][0]["details"]["api_name"] == "token"


def test_get_put_patch_delete(api: httpx.Client, hooks: CallbackReceiver) -> None:
    watch(api, hooks, events=["Accounts.all"], return_affected_field_values=True)
    listed = api.get(WATCH).json()
    assert listed["watch"][0]["events"] == ["Accounts.create", "Accounts.edit",
                                            "Accounts.delete"]
    assert listed["info"]["count"] == 1
    # PATCH merges: the token changes, everything else stays.
    patched = api.patch(WATCH, json={"watch": [{"channel_id": "1000000068001",
                                                "token": "new-token"}]})
    assert patched.status_code == 200
    entry = api.get(WATCH).json()["watch"][0]
    assert entry["token"] == "new-token" and entry["return_affected_field_values"] is True
    # PUT replaces: keys left out are dropped.
    put = api.put(WATCH, json={"watch": [{"channel_id": "1000000068001",
                                          "events": ["Contacts.create"],
                                          "notify_url": hooks.url("/other")}]})
    assert put.json()["watch"][0]["message"] == "Successfully updated the subscribe details"
    entry = api.get(WATCH).json()["watch"][0]
    assert entry["resource_name"] == "Contacts" and entry["token"] is None
    assert entry["return_affected_field_values"] is False
    removed = api.patch(WATCH, json={"watch": [{"channel_id": "1000000068001",
                                                "events": ["Contacts.create"],
                                                "_delete_events": True}]})
    assert removed.json()["watch"][0]["message"] == "Successfully removed the subscribe details"
    assert api.get(WATCH).status_code == 204
    watch(api, hooks)
    missing = api.delete(WATCH)
    assert missing.status_code == 400 and missing.json()["code"] == "REQUIRED_PARAM_MISSING"
    gone = api.delete(WATCH, params={"channel_ids": "1000000068001,42"})
    assert gone.status_code == 202
    assert [w["code"] for w in gone.json()["watch"]] == ["SUCCESS", "NOT_SUBSCRIBED"]
    create_account(api, "Nobody listens")
    assert hooks.wait_for(lambda c: len(c) >= 1, timeout=0.3) == []


def test_notify_on_related_action_false_skips_cascades(api: httpx.Client,
                                                       hooks: CallbackReceiver) -> None:
    rid = create_account(api, "Parent")
    contact = api.post("/crm/v8/Contacts", json={"data": [
        {"Last_Name": "Child", "Account_Name": {"id": rid}}]}).json()["data"][0]["details"]["id"]
    watch(api, hooks, channel_id="1", events=["Contacts.all"])
    watch(api, hooks, channel_id="2", events=["Contacts.all"], notify_on_related_action=False)
    api.delete(f"/crm/v8/Accounts/{rid}")
    calls = hooks.wait_for(lambda c: len(c) >= 1)
    hooks.wait_for(lambda c: len(c) >= 2, timeout=0.3)
    assert [(c.body["channel_id"], c.body["ids"]) for c in hooks.calls] == [("1", [contact])]
    assert calls[0].body["operation"] == "delete"


def test_scope_needed(client_for: ClientFactory, hooks: CallbackReceiver) -> None:
    reader = client_for(scope="ZohoCRM.modules.ALL")
    assert watch(reader, hooks).json()["code"] == "OAUTH_SCOPE_MISMATCH"
