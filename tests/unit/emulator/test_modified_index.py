"""Listings by Modified_Time and If-Modified-Since come from an index kept in step with writes."""

from __future__ import annotations

import random
from typing import Any

import pytest

from zoho_emulator import store as store_module
from zoho_emulator.state import EmulatorState
from zoho_emulator.store import Deleted, ModuleStore, Record, position_after

SORTS = [(sort_by, descending) for sort_by in ("id", "Modified_Time", "Created_Time")
         for descending in (False, True)]


def _scan(store: ModuleStore, sort_by: str, descending: bool,
          since: int | None) -> tuple[list[Any], list[int]]:
    """The reference: filter every record, then sort (what a listing did before the index)."""
    ids = sorted(rid for rid, rec in store.records.items()
                 if since is None or rec["Modified_Time"] >= since)
    sign = -1 if descending else 1
    if sort_by == "id":
        ids = ids[::sign]
        return [sign * rid for rid in ids], ids
    pairs = sorted((sign * store.records[rid][sort_by], sign * rid) for rid in ids)
    return list(pairs), [sign * rid for _, rid in pairs]


def _record(mtime: int, created: int) -> Record:
    return {"Account_Name": f"A {mtime}", "Created_Time": created, "Modified_Time": mtime}


def _accounts() -> tuple[EmulatorState, ModuleStore]:
    state = EmulatorState()
    return state, state.default_org.store("Accounts")


@pytest.mark.parametrize("chunk", [4, store_module.CHUNK])
def test_listings_after_many_edits_and_deletes_equal_a_full_scan(
        chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small chunks make the index split and merge chunks many times over.
    monkeypatch.setattr(store_module, "CHUNK", chunk)
    state, store = _accounts()
    rng = random.Random(14)
    now = 1_000
    for _ in range(300):
        store.put(state.default_org.ids.next(), _record(rng.randrange(now), rng.randrange(now)))
    store.ordered("Modified_Time", False, 0)  # the index exists from here on
    for step in range(3_000):
        live = list(store.records)
        roll = rng.random()
        if roll < 0.3 or not live:
            store.put(state.default_org.ids.next(), _record(now, now))
        elif roll < 0.75:
            rid = rng.choice(live)
            # Ties on purpose: many records share one second, as with Zoho's resolution.
            mtime = now if rng.random() < 0.7 else rng.randrange(now)
            store.put(rid, {**store.records[rid], "Modified_Time": mtime})
        else:
            rid = rng.choice(live)
            store.remove(rid, Deleted(rid, None, now, None, None))
        now += rng.random() < 0.2
        if step % 50 == 0:
            since = rng.choice([None, 0, now - 5, now, now + 1, rng.randrange(now)])
            for sort_by, descending in SORTS:
                assert store.ordered(sort_by, descending, since) == _scan(
                    store, sort_by, descending, since), (step, sort_by, descending, since)


def test_a_page_token_continues_after_writes_between_pages() -> None:
    state, store = _accounts()
    ids = [state.default_org.ids.next() for _ in range(6)]
    for rid in ids:
        store.put(rid, _record(100, 1))
    keys, _ = store.ordered("Modified_Time", False, 100)
    last = keys[2]  # the first page served ids[0:3]
    store.put(ids[1], _record(101, 1))  # served, edited: comes again at the end
    store.put(ids[4], _record(101, 1))  # not yet served, edited: moves to the end
    store.remove(ids[3], Deleted(ids[3], None, 101, None, None))
    keys, after = store.ordered("Modified_Time", False, 100)
    assert after[position_after(keys, last):] == [ids[5], ids[1], ids[4]]


class Watched(dict[str, Any]):
    """A stored record that counts the reads of its fields."""

    reads = 0

    def __getitem__(self, key: str) -> Any:
        Watched.reads += 1
        return super().__getitem__(key)


@pytest.mark.parametrize(("sort_by", "descending"), SORTS)
def test_an_incremental_listing_after_a_write_reads_only_the_changed_records(
        sort_by: str, descending: bool) -> None:
    state, store = _accounts()
    for i in range(2_000):
        store.put(state.default_org.ids.next(), Watched(_record(100 + i % 7, i)))
    store.ordered(sort_by, descending, 200)
    changed = [state.default_org.ids.next() for _ in range(3)]
    for rid in changed:
        store.put(rid, Watched(_record(200, 5)))
    Watched.reads = 0
    _, ids = store.ordered(sort_by, descending, 200)
    assert sorted(ids) == changed
    # A scan reads Modified_Time of all 2,003 records; only Created_Time needs the 3 records.
    assert Watched.reads <= (3 if sort_by == "Created_Time" else 0)


def test_a_record_edited_in_place_is_still_listed_by_its_new_time() -> None:
    state, store = _accounts()
    rid = state.default_org.ids.next()
    store.put(rid, _record(100, 1))
    assert store.ordered("id", False, 100)[1] == [rid]
    record = store.records[rid]
    record["Modified_Time"] = 150
    store.put(rid, record)
    assert store.ordered("id", False, 120)[1] == [rid]
    assert store.ordered("Modified_Time", True, None)[0] == [(-150, -rid)]
