"""The full read over a scripted Zoho: page window, page tokens, caps, field chunks, 204/304."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alix.integrations.zoho_crm.client import Record, RequestRejected

from .conftest import START, Harness

pytestmark = pytest.mark.anyio


async def read_all(harness: Harness, fields: list[str], **kw: object) -> list[Record]:
    async with harness.client() as client:
        return [r async for r in client.iter_records("Accounts", fields, **kw)]


async def test_2500_records_walk_the_page_window_then_page_tokens(harness: Harness) -> None:
    harness.zoho.seed(2500)
    records = await read_all(harness, ["Account_Name"])
    assert [r.id for r in records] == [r["id"] for r in harness.zoho.records]
    lists = [q for q in harness.zoho.requests if q.url.path == "/crm/v8/Accounts"]
    pages = [q.url.params.get("page") for q in lists]
    assert pages[:10] == [str(n) for n in range(1, 11)]
    assert all("page_token" in q.url.params for q in lists[10:]) and len(lists) == 13


async def test_the_page_token_cap_restarts_from_the_last_modified_time(harness: Harness) -> None:
    # 5,000 records, 7 per second; tokens stop at 2,200: each query reads 2,200, restarts
    # land mid-second.
    harness.zoho.seed(5000, same_second_every=7)
    harness.zoho.page_token_cap = 2200
    records = await read_all(harness, ["Account_Name"])
    ids = [r.id for r in records]
    assert len(ids) == len(set(ids)) == 5000
    lists = [q for q in harness.zoho.requests if q.url.path.endswith("Accounts")]
    restarts = [q for q in lists if q.url.params.get("page") == "1"]
    assert len(restarts) == 3
    assert all("If-Modified-Since" in q.headers for q in restarts[1:])


async def test_a_second_that_outgrows_one_query_is_reported(harness: Harness) -> None:
    harness.zoho.seed(2500, same_second_every=2500)
    harness.zoho.page_token_cap = 2000
    with pytest.raises(RequestRejected, match="cannot progress"):
        await read_all(harness, ["Account_Name"])


async def test_sixty_fields_are_read_in_calls_of_at_most_fifty_merged_by_id(
    harness: Harness,
) -> None:
    harness.zoho.seed(450, fields=60)
    fields = [f"Field_{n}" for n in range(60)]
    records = await read_all(harness, fields)
    assert len(records) == 450
    assert all(set(fields) <= set(r.values) for r in records)
    assert records[17].values["Field_59"] == "value 17/59"
    lists = [q for q in harness.zoho.requests if q.url.path == "/crm/v8/Accounts"]
    assert max(len(q.url.params["fields"].split(",")) for q in lists) <= 50
    assert len(lists) == 6  # 3 pages x 2 field chunks


async def test_nothing_modified_since_is_a_304_and_an_empty_module_a_204(harness: Harness) -> None:
    harness.zoho.seed(10)
    assert await read_all(harness, ["Account_Name"], modified_since=START + timedelta(days=1)) == []
    harness.zoho.seed(0)
    assert await read_all(harness, ["Account_Name"]) == []
    statuses = [q.url.path for q in harness.zoho.requests if q.url.path.endswith("Accounts")]
    assert len(statuses) == 2


async def test_modified_since_is_inclusive_and_times_come_back_in_utc(harness: Harness) -> None:
    harness.zoho.seed(10)
    records = await read_all(harness, ["Account_Name"], modified_since=START + timedelta(seconds=4))
    assert [r.modified_time for r in records][:1] == [START + timedelta(seconds=4)]
    assert all(r.modified_time and r.modified_time.utcoffset() == timedelta(0) for r in records)


async def test_token_expiry_in_the_middle_of_an_iteration_refreshes_once(harness: Harness) -> None:
    harness.zoho.seed(2500)
    harness.zoho.expire_tokens_after_calls = 7
    records = await read_all(harness, ["Account_Name"])
    assert len({r.id for r in records}) == 2500
    assert harness.zoho.minted == 2  # the first token, and one refresh after call 7
