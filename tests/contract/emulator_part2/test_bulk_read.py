"""Bulk read: job lifecycle, zip-of-CSV, criteria, 200,000-row pages, callback, download cap."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from typing import Any

import httpx
import pytest

from zoho_emulator.receiver import CallbackReceiver
from zoho_emulator.testing import EmulatorServer

READ = "/crm/bulk/v8/read"


def _seed(emu: EmulatorServer, count: int) -> list[int]:
    """Accounts straight into the store: cheap enough for 250k rows."""
    org = emu.state.default_org
    store = org.store("Accounts")
    admin = org.admin.id
    now = emu.state.now()
    ids = []
    for i in range(count):
        rid = org.ids.next()
        store.put(rid, {"Account_Name": f"Bulk, \"{i}\"", "Employees": i, "Active": i % 2 == 0,
                        "Owner": admin, "Created_By": admin, "Modified_By": admin,
                        "Created_Time": now, "Modified_Time": now - i})
        ids.append(rid)
    return ids


def _wait(api: httpx.Client, job_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        entry: dict[str, Any] = api.get(f"{READ}/{job_id}").json()["data"][0]
        if not seen or seen[-1] != entry["state"]:
            seen.append(entry["state"])
        if entry["state"] in ("COMPLETED", "FAILURE"):
            entry["_states"] = seen
            return entry
        time.sleep(0.02)
    raise AssertionError(f"Job {job_id} did not finish: {seen}")


def _rows(api: httpx.Client, job_id: str) -> list[dict[str, str]]:
    answer = api.get(f"{READ}/{job_id}/result")
    assert answer.status_code == 200, answer.text
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        assert archive.namelist() == [f"{job_id}.csv"]
        text = archive.read(f"{job_id}.csv").decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _create(api: httpx.Client, query: dict[str, Any], **extra: Any) -> str:
    answer = api.post(READ, json={"query": query, **extra})
    assert answer.status_code == 201, answer.text
    details = answer.json()["data"][0]["details"]
    assert answer.json()["data"][0]["code"] == "ADDED_SUCCESSFULLY"
    assert details["state"] == "ADDED" and details["operation"] == "read"
    return str(details["id"])


def test_lifecycle_csv_criteria_and_callback(api: httpx.Client, emu: EmulatorServer,
                                            hooks: CallbackReceiver) -> None:
    emu.control("bulk", {"step_ms": 100})
    ids = _seed(emu, 30)
    job_id = _create(api, {"module": {"api_name": "Accounts"},
                           "fields": ["Account_Name", "Employees", "Active", "Owner",
                                      "Modified_Time"],
                           "criteria": {"group_operator": "and", "group": [
                               {"field": {"api_name": "Employees"},
                                "comparator": "greater_equal", "value": 20},
                               {"field": {"api_name": "Account_Name"},
                                "comparator": "contains", "value": "Bulk"}]}},
                     callback={"url": hooks.url("/bulk"), "method": "post"})
    entry = _wait(api, job_id)
    assert entry["_states"][-2:] == ["IN PROGRESS", "COMPLETED"]
    assert entry["result"]["count"] == 10 and entry["result"]["more_records"] is False
    assert entry["result"]["download_url"] == f"/crm/bulk/v8/read/{job_id}/result"
    rows = _rows(api, job_id)
    assert list(rows[0]) == ["id", "Account_Name", "Employees", "Active", "Owner",
                             "Modified_Time"]
    assert rows[0]["id"] == str(ids[20]) and rows[0]["Account_Name"] == 'Bulk, "20"'
    assert rows[0]["Active"] == "true" and rows[0]["Owner"] == emu.state.default_org.admin.id
    calls = hooks.wait_for(lambda c: len(c) >= 1)
    assert calls[0].path == "/bulk"
    assert calls[0].body["data"][0]["state"] == "COMPLETED"
    assert calls[0].body["data"][0]["id"] == job_id


def test_errors_and_download_limit(api: httpx.Client, emu: EmulatorServer) -> None:
    emu.control("bulk", {"step_ms": 0})
    assert api.get(f"{READ}/123").status_code == 404
    bad = api.post(READ, json={"query": {"module": {"api_name": "Nowhere"}}})
    assert bad.json()["code"] == "INVALID_MODULE"
    bad = api.post(READ, json={"query": {"module": {"api_name": "Accounts"}, "criteria": {
        "field": {"api_name": "Employees"}, "comparator": "sounds_like", "value": 1}}})
    assert bad.json()["code"] == "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED"
    _seed(emu, 3)
    job_id = _create(api, {"module": {"api_name": "Accounts"}, "criteria": {
        "field": {"api_name": "Employees"}, "comparator": "equal", "value": "1"}})
    _wait(api, job_id)
    rows = _rows(api, job_id)
    assert [r["Employees"] for r in rows] == ["1"]
    for _ in range(9):
        assert api.get(f"{READ}/{job_id}/result").status_code == 200
    limited = api.get(f"{READ}/{job_id}/result")
    assert limited.status_code == 429 and limited.json()["code"] == "TOO_MANY_REQUESTS"


@pytest.mark.slow
def test_250k_records_page_at_200000(api: httpx.Client, emu: EmulatorServer) -> None:
    emu.control("bulk", {"step_ms": 0})
    ids = _seed(emu, 250_000)
    query = {"module": {"api_name": "Accounts"}, "fields": ["Account_Name", "Employees"]}
    first = _wait(api, _create(api, query))
    assert first["result"]["count"] == 200_000 and first["result"]["more_records"] is True
    token = first["result"]["next_page_token"]
    rows = _rows(api, first["id"])
    second = _wait(api, _create(api, {**query, "page_token": token}))
    assert second["result"]["count"] == 50_000 and second["result"]["more_records"] is False
    assert second["result"]["page"] == 2
    rows += _rows(api, second["id"])
    assert len(rows) == 250_000
    assert [r["id"] for r in rows] == [str(i) for i in ids]
    assert all(r["Account_Name"] == f'Bulk, "{i}"' and r["Employees"] == str(i)
               for i, r in enumerate(rows))
    by_page = _wait(api, _create(api, {**query, "page": 2}))
    assert by_page["result"]["count"] == 50_000
