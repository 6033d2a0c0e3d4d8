"""The ZohoCrm contract: what the sync may rely on, from the fake and from the real client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from alix.integrations.zoho_crm.client import (
    DuplicateRecord,
    RecordInvalid,
    RecordLocked,
    WriteFailure,
    WriteSuccess,
)

from .conftest import Backend

pytestmark = pytest.mark.anyio


def accounts(count: int, prefix: str = "Acme") -> list[dict[str, str]]:
    return [{"Account_Name": f"{prefix} {n:05d}", "Billing_City": "Leeds"} for n in range(count)]


async def insert_ok(backend: Backend, rows: list[dict[str, str]]) -> list[WriteSuccess]:
    results = await backend.crm.insert("Accounts", rows)
    assert all(isinstance(r, WriteSuccess) for r in results), results
    return [r for r in results if isinstance(r, WriteSuccess)]


async def test_metadata_names_modules_and_fields_by_api_name(backend: Backend) -> None:
    modules = {m.api_name for m in await backend.crm.modules()}
    assert {"Accounts", "Contacts"} <= modules
    fields = {f.api_name for f in await backend.crm.fields("Accounts")}
    assert {"Account_Name", "Modified_Time"} <= fields
    org = await backend.crm.org()
    assert org.id and org.currency
    assert (await backend.crm.current_user()).id
    currencies = await backend.crm.currencies()
    if org.multi_currency:
        assert [c.iso_code for c in currencies if c.is_base] == [org.currency]
    else:
        assert currencies == []


async def test_an_insert_reads_back_with_utc_times(backend: Backend) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    [done] = await insert_ok(backend, [{"Account_Name": "Acme Ltd", "Billing_City": "Leeds"}])
    assert done.modified_time is not None and done.modified_time.tzinfo is not None
    [record] = await backend.crm.get_records(
        "Accounts", [done.id], ["Account_Name", "Billing_City"]
    )
    assert record.id == done.id
    assert (record.values["Account_Name"], record.values["Billing_City"]) == ("Acme Ltd", "Leeds")
    assert record.modified_time is not None and record.modified_time.utcoffset() == timedelta(0)
    # Zoho renders times in the API user's offset; read back they are this very second in UTC.
    assert before <= record.modified_time <= datetime.now(UTC) + timedelta(seconds=1)
    assert record.modified_time == done.modified_time


async def test_a_partial_batch_failure_returns_one_result_per_record(backend: Backend) -> None:
    [existing] = await insert_ok(backend, [{"Account_Name": "Taken Ltd"}])
    rows = [{"Account_Name": "Fine Ltd"}, {"Billing_City": "York"}, {"Account_Name": "Taken Ltd"}]
    results = await backend.crm.insert("Accounts", rows)
    assert [r.index for r in results] == [0, 1, 2]
    ok, missing, duplicate = results
    assert isinstance(ok, WriteSuccess)
    assert isinstance(missing, WriteFailure) and isinstance(missing.error, RecordInvalid)
    assert missing.error.code == "MANDATORY_NOT_FOUND" and missing.error.field == "Account_Name"
    assert isinstance(duplicate, WriteFailure) and isinstance(duplicate.error, DuplicateRecord)
    assert duplicate.error.existing_id == existing.id
    assert duplicate.error.field == "Account_Name"


async def test_updates_change_only_the_sent_keys_and_refuse_unknown_ids(backend: Backend) -> None:
    [done] = await insert_ok(backend, [{"Account_Name": "Old Name", "Billing_City": "Leeds"}])
    results = await backend.crm.update(
        "Accounts", [{"id": done.id, "Account_Name": "New Name"}, {"id": "1234567890123456789"}]
    )
    assert isinstance(results[0], WriteSuccess) and results[0].id == done.id
    assert isinstance(results[1], WriteFailure)
    [record] = await backend.crm.get_records(
        "Accounts", [done.id], ["Account_Name", "Billing_City"]
    )
    assert (record.values["Account_Name"], record.values["Billing_City"]) == ("New Name", "Leeds")


async def test_reading_2500_records_yields_each_once_oldest_first(backend: Backend) -> None:
    made = await insert_ok(backend, accounts(2500))
    seen = [r async for r in backend.crm.iter_records("Accounts", ["Account_Name"])]
    ids = [r.id for r in seen]
    assert len(ids) == len(set(ids)) == 2500 and set(ids) == {m.id for m in made}
    times = [r.modified_time for r in seen if r.modified_time is not None]
    assert len(times) == len(seen) and times == sorted(times)


async def test_sixty_fields_are_read_whole(backend: Backend) -> None:
    extra = [f"Extra_{n:02d}" for n in range(60)]
    backend.add_fields("Accounts", extra)
    row = {"Account_Name": "Wide Ltd", **{name: f"v-{name}" for name in extra}}
    done, *_ = await insert_ok(backend, [row, *accounts(3, "Narrow")])
    fields = ["Account_Name", *extra]
    seen = {r.id: r async for r in backend.crm.iter_records("Accounts", fields)}
    assert all(seen[done.id].values[name] == f"v-{name}" for name in extra)
    [again] = await backend.crm.get_records("Accounts", [done.id], fields)
    assert again.values["Extra_59"] == "v-Extra_59" and again.values["Extra_00"] == "v-Extra_00"


async def test_modified_since_is_inclusive(backend: Backend) -> None:
    made = await insert_ok(backend, accounts(30))
    newest = max(m.modified_time for m in made if m.modified_time)
    seen = [
        r
        async for r in backend.crm.iter_records("Accounts", ["Account_Name"], modified_since=newest)
    ]
    at_newest = {m.id for m in made if m.modified_time == newest}
    assert {r.id for r in seen} == at_newest
    later = newest + timedelta(days=1)
    assert [
        r async for r in backend.crm.iter_records("Accounts", ["X"], modified_since=later)
    ] == []


async def test_deletes_show_up_in_the_deleted_list(backend: Backend) -> None:
    made = await insert_ok(backend, accounts(3, "Gone"))
    since = min(m.modified_time for m in made if m.modified_time)
    results = await backend.crm.delete("Accounts", [made[0].id, "1234567890123456789"])
    assert isinstance(results[0], WriteSuccess) and isinstance(results[1], WriteFailure)
    assert await backend.crm.get_records("Accounts", [made[0].id], ["Account_Name"]) == []
    deleted = await backend.crm.deleted_since("Accounts", since)
    assert [d.id for d in deleted] == [made[0].id]


async def test_count_and_search(backend: Backend) -> None:
    made = await insert_ok(backend, accounts(5, "Search"))
    await insert_ok(backend, accounts(2, "Other"))
    assert await backend.crm.count("Accounts") == 7
    assert await backend.crm.count("Accounts", "(Account_Name:starts_with:Search)") == 5
    found = await backend.crm.search(
        "Accounts", "(Account_Name:starts_with:Search)", ["Account_Name"]
    )
    assert {r.id for r in found} == {m.id for m in made}
    assert {r.values["Account_Name"] for r in found} == {f"Search {n:05d}" for n in range(5)}


async def test_upsert_inserts_then_updates_by_the_duplicate_check_field(backend: Backend) -> None:
    first = await backend.crm.upsert("Accounts", [{"Account_Name": "Up Ltd"}])
    second = await backend.crm.upsert(
        "Accounts",
        [{"Account_Name": "Up Ltd", "Billing_City": "Hull"}],
        duplicate_check_fields=["Account_Name"],
    )
    assert isinstance(first[0], WriteSuccess) and first[0].action == "insert"
    assert isinstance(second[0], WriteSuccess) and second[0].action == "update"
    assert second[0].id == first[0].id


async def test_coql_reads_rows(backend: Backend) -> None:
    await insert_ok(backend, accounts(3, "Coql"))
    page = await backend.crm.coql(
        "select Account_Name from Accounts where Account_Name = 'Coql 00001' limit 200"
    )
    assert [row["Account_Name"] for row in page.rows] == ["Coql 00001"]


def expand(events: Sequence[str]) -> set[str]:
    """Events as a set, `Module.all` spelled out: listings may return either form [INF]."""
    out: set[str] = set()
    for event in events:
        module, _, operation = event.partition(".")
        ops = ("create", "edit", "delete") if operation == "all" else (operation,)
        out |= {f"{module}.{op}" for op in ops}
    return out


async def test_notification_channels_can_be_created_renewed_listed_and_deleted(
    backend: Backend,
) -> None:
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    channel = await backend.crm.create_channel(
        "1000000068001",
        ["Accounts.all"],
        "https://hooks.example.com/zoho",
        token="verify-1",
        expires_at=expiry,
    )
    assert channel.expires_at == expiry
    renewed = await backend.crm.renew_channel("1000000068001", expiry + timedelta(days=3))
    assert renewed.expires_at == expiry + timedelta(days=3)
    listed = await backend.crm.list_channels()
    assert [(c.channel_id, expand(c.events), c.token) for c in listed] == [
        ("1000000068001", expand(["Accounts.all"]), "verify-1")
    ]
    await backend.crm.delete_channels(["1000000068001"])
    assert await backend.crm.list_channels() == []


async def test_bulk_read_exports_every_record(backend: Backend) -> None:
    made = await insert_ok(backend, accounts(40, "Bulk"))
    job = await backend.crm.create_bulk_read("Accounts", ["Account_Name"])
    # The emulator runs a job on its own clock (a step in each state): poll as a client does,
    # with a pause, not as fast as the loop goes (100 quick polls can all come too early).
    for _ in range(500):
        job = await backend.crm.bulk_read_status(job.id)
        if job.done:
            break
        await anyio.sleep(0.01)
    assert job.state == "COMPLETED"
    rows = [row async for row in backend.crm.download_bulk_read(job.id)]
    assert {row["id"]: row["Account_Name"] for row in rows} == {
        m.id: f"Bulk {m.index:05d}" for m in made
    }


def _as_listed(value: object) -> object:
    """A value as both shapes compare: a lookup or user by its id."""
    return value.get("id") if isinstance(value, dict) else value


async def test_bulk_records_are_what_the_listing_gives(backend: Backend) -> None:
    made = await insert_ok(backend, accounts(3, "Export"))
    [contact] = await backend.crm.insert("Contacts", [
        {"Last_Name": "Doe", "Email": "doe@export.example", "Account_Name": {"id": made[0].id}}])
    assert isinstance(contact, WriteSuccess), contact
    for module, fields in (("Accounts", ["Account_Name", "Billing_City", "Phone"]),
                           ("Contacts", ["Last_Name", "Email", "Account_Name", "Owner"])):
        listed = {r.id: r async for r in backend.crm.iter_records(module, fields)}
        exported = {r.id: r async for r in backend.crm.bulk_records(module, fields)}
        assert exported.keys() == listed.keys()
        for rid, record in listed.items():
            assert exported[rid].modified_time == record.modified_time
            assert {f: _as_listed(exported[rid].values.get(f)) for f in fields} == {
                f: _as_listed(record.values.get(f)) for f in fields}, module


async def test_a_locked_record_is_refused_alone_and_left_unchanged(backend: Backend) -> None:
    locked, free = await insert_ok(backend, accounts(2, "Lock"))
    backend.lock("Accounts", locked.id)
    results = await backend.crm.update(
        "Accounts",
        [{"id": locked.id, "Billing_City": "York"}, {"id": free.id, "Billing_City": "York"}],
    )
    refused, done = results
    assert isinstance(refused, WriteFailure) and isinstance(refused.error, RecordLocked)
    assert refused.error.code == "RECORD_LOCKED" and refused.index == 0
    assert isinstance(done, WriteSuccess) and done.id == free.id
    [deleted, _] = await backend.crm.delete("Accounts", [locked.id, free.id])
    assert isinstance(deleted, WriteFailure) and isinstance(deleted.error, RecordLocked)
    [record] = await backend.crm.get_records("Accounts", [locked.id], ["Billing_City"])
    assert record.values["Billing_City"] == "Leeds"
