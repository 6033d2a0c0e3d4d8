"""Batched writes: one result per record, typed per-record errors, nothing raised for one."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import pytest

from alix.integrations.zoho_crm.client import (
    DuplicateRecord,
    RecordInvalid,
    RecordLocked,
    WriteFailure,
    WriteSuccess,
)

from .conftest import START, Harness, _json

pytestmark = pytest.mark.anyio


def zoho_write(request: httpx.Request) -> httpx.Response | None:
    """Accounts writes: names starting "dup" clash, "locked" is locked, empty names fail."""
    if request.method not in ("POST", "PUT") or "/bulk/" in request.url.path:
        return None
    entries = []
    for n, row in enumerate(json.loads(request.content)["data"]):
        name = row.get("Account_Name")
        path = f"$.data[{n}].Account_Name"
        if not name:
            entries.append(
                {
                    "code": "MANDATORY_NOT_FOUND",
                    "status": "error",
                    "message": "required field not found",
                    "details": {"api_name": "Account_Name", "json_path": path},
                }
            )
        elif name.startswith("dup"):
            entries.append(
                {
                    "code": "DUPLICATE_DATA",
                    "status": "error",
                    "message": "duplicate data",
                    "details": {
                        "api_name": "Account_Name",
                        "json_path": path,
                        "duplicate_record": {"id": "999", "module": {"api_name": "Accounts"}},
                    },
                }
            )
        elif name == "locked":
            entries.append(
                {
                    "code": "RECORD_LOCKED",
                    "status": "error",
                    "message": "locked",
                    "details": {"id": row.get("id")},
                }
            )
        else:
            entries.append(
                {
                    "code": "SUCCESS",
                    "status": "success",
                    "message": "record added",
                    "details": {
                        "id": f"id-{name}",
                        "Modified_Time": "2026-05-14T12:00:00+03:00",
                        "Created_Time": "2026-05-14T12:00:00+03:00",
                    },
                }
            )
    failed = sum(e["status"] == "error" for e in entries)
    status = 201 if not failed else 400 if failed == len(entries) else 207
    return _json(status, {"data": entries})


async def test_a_partial_batch_failure_returns_one_typed_result_per_record(
    harness: Harness,
) -> None:
    harness.zoho.handler_override = zoho_write
    rows = [{"Account_Name": f"A{n}"} for n in range(205)]
    rows[3] = {"Account_Name": ""}
    rows[150] = {"Account_Name": "dup-acme"}
    async with harness.client() as client:
        results = await client.insert("Accounts", rows)
    assert [r.index for r in results] == list(range(205))
    assert sum(isinstance(r, WriteSuccess) for r in results) == 203
    missing, duplicate = results[3], results[150]
    assert isinstance(missing, WriteFailure) and isinstance(missing.error, RecordInvalid)
    assert (missing.error.code, missing.error.field) == ("MANDATORY_NOT_FOUND", "Account_Name")
    assert isinstance(duplicate, WriteFailure) and isinstance(duplicate.error, DuplicateRecord)
    assert duplicate.error.existing_id == "999" and duplicate.error.field == "Account_Name"
    assert "existing record 999" in str(duplicate.error)
    ok = results[0]
    assert isinstance(ok, WriteSuccess) and ok.id == "id-A0" and ok.modified_time == START
    posts = [q for q in harness.zoho.requests if q.url.path == "/crm/v8/Accounts"]
    assert [len(json.loads(q.content)["data"]) for q in posts] == [100, 100, 5]
    assert all(json.loads(q.content)["trigger"] == [] for q in posts)


async def test_a_batch_where_every_record_fails_does_not_raise(harness: Harness) -> None:
    harness.zoho.handler_override = zoho_write
    async with harness.client() as client:
        results = await client.update("Accounts", [{"id": "1", "Account_Name": "locked"}] * 2)
    assert all(isinstance(r, WriteFailure) and isinstance(r.error, RecordLocked) for r in results)


async def test_a_bulk_read_result_is_unzipped_and_parsed_as_it_streams(harness: Harness) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        lines = ["id,Account_Name,Modified_Time,Parent_Account,Active,Phone"] + [
            f'{n},"Name, {n}",2026-05-14T12:00:00+03:00,{n + 10},{"true" if n % 2 else "false"},'
            for n in range(3000)
        ]
        archive.writestr("5725767000000859031.csv", "\n".join(lines))

    def answer(request: httpx.Request) -> httpx.Response | None:
        path = request.url.path
        if path.endswith("/settings/fields"):
            return _json(200, {"fields": [
                {"api_name": name, "data_type": kind} for name, kind in (
                    ("Account_Name", "text"), ("Parent_Account", "lookup"),
                    ("Active", "boolean"), ("Phone", "phone"))]})
        if path == "/crm/bulk/v8/read" and request.method == "POST":
            return _json(
                201,
                {
                    "data": [
                        {
                            "status": "success",
                            "code": "ADDED_SUCCESSFULLY",
                            "details": {"id": "77", "state": "ADDED"},
                        }
                    ]
                },
            )
        if path == "/crm/bulk/v8/read/77":
            return _json(
                200,
                {
                    "data": [
                        {
                            "id": "77",
                            "state": "COMPLETED",
                            "result": {"count": 3000, "more_records": False},
                        }
                    ]
                },
            )
        if path == "/crm/bulk/v8/read/77/result":
            return httpx.Response(200, content=buffer.getvalue())
        return None

    harness.zoho.handler_override = answer
    async with harness.client() as client:
        records = [r async for r in client.bulk_records("Accounts", ["Account_Name"])]
    assert len(records) == 3000
    assert records[5].values["Account_Name"] == "Name, 5" and records[5].modified_time == START
    # The cells typed as the REST listing gives them: lookups as {"id"}, booleans, null.
    assert (records[5].values["Parent_Account"], records[5].values["Active"],
            records[4].values["Active"], records[5].values["Phone"]) == ({"id": "15"}, True,
                                                                        False, None)
    created = next(q for q in harness.zoho.requests if q.url.path == "/crm/bulk/v8/read")
    assert json.loads(created.content)["query"]["module"] == {"api_name": "Accounts"}
