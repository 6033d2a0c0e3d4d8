"""Unit tests of the emulator's pure parts: scopes, clock, keyset ordering, coercion, storage."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from zoho_emulator.clock import Clock
from zoho_emulator.paging import PageTokens
from zoho_emulator.persistence import SqliteData
from zoho_emulator.scopes import allowed, covers, module_allowed
from zoho_emulator.seed import SeedSpec, seed_org
from zoho_emulator.state import EmulatorState
from zoho_emulator.store import position_after
from zoho_emulator.validation import FieldProblem, coerce
from zoho_emulator.writes import insert


@pytest.mark.parametrize(("granted", "need", "ok"), [
    ("ZohoCRM.modules.ALL", ("ZohoCRM.modules.accounts", "READ"), True),
    ("ZohoCRM.modules.accounts.WRITE", ("ZohoCRM.modules.accounts", "UPDATE"), True),
    ("ZohoCRM.modules.accounts.WRITE", ("ZohoCRM.modules.accounts", "DELETE"), False),
    ("ZohoCRM.modules.contacts.ALL", ("ZohoCRM.modules.accounts", "READ"), False),
    ("zohocrm.settings.all", ("ZohoCRM.settings.fields", "READ"), True),
    ("ZohoCRM.settingsX.ALL", ("ZohoCRM.settings.fields", "READ"), False),
])
def test_scope_coverage(granted: str, need: tuple[str, str], ok: bool) -> None:
    assert covers(granted, need) is ok


def test_custom_module_scope_and_conjunction() -> None:
    assert module_allowed(["ZohoCRM.modules.custom.READ"], "Projects", True, "READ")
    assert not module_allowed(["ZohoCRM.modules.custom.READ"], "accounts", False, "READ")
    assert not allowed(["ZohoCRM.modules.ALL"], [("ZohoCRM.modules.accounts", "READ"),
                                                 ("ZohoSearch.securesearch", "READ")])


def test_clock_set_freeze_and_advance() -> None:
    ticks = iter([100.0, 100.0, 105.0])
    clock = Clock(source=lambda: next(ticks))
    clock.set(datetime(2026, 1, 1, tzinfo=UTC), frozen=True)
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    clock.advance(30)
    assert clock.now() == datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 1, 1))


def test_keyset_continues_after_inserted_records() -> None:
    state = EmulatorState()
    org = state.default_org
    seed_org(org, SeedSpec(accounts=5), state.now())
    store = org.store("Accounts")
    keys, ids = store.ordered("id", True, None)
    assert ids == sorted(store.records, reverse=True)
    last = keys[1]
    store.put(org.ids.next(), {"Account_Name": "New", "Modified_Time": 0})
    keys2, ids2 = store.ordered("id", True, None)
    assert ids2[position_after(keys2, last)] == ids[2]


def test_coercion_rules() -> None:
    org = EmulatorState().default_org
    fields = org.modules["Accounts"].fields
    assert coerce(fields["Employees"], "12", org, "$.data[0].Employees") == 12
    assert coerce(fields["Account_Number"], 42, org, "$") == "42"
    with pytest.raises(FieldProblem) as problem:
        coerce(fields["Account_Name"], "x" * 201, org, "$.data[0].Account_Name")
    assert problem.value.details["maximum_length"] == 200
    with pytest.raises(FieldProblem):
        coerce(fields["Active"], "yes", org, "$")
    with pytest.raises(FieldProblem):
        coerce(fields["Currency"], "JPY", org, "$")


def test_seed_is_deterministic_and_has_duplicates() -> None:
    a, b = EmulatorState(), EmulatorState()
    seed_org(a.default_org, SeedSpec(200, 2, 1, seed=7), 1_800_000_000)
    seed_org(b.default_org, SeedSpec(200, 2, 1, seed=7), 1_800_000_000)
    ra = list(a.default_org.store("Contacts").records.values())
    assert ra == list(b.default_org.store("Contacts").records.values())
    names = [r["Account_Name"] for r in a.default_org.store("Accounts").records.values()]
    assert len(set(names)) < len(names)
    assert any("Email" not in r for r in ra) and any("Account_Name" not in r for r in ra)


def test_sqlite_data_survives_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "crm.db")
    state = EmulatorState()
    data = SqliteData(path, state)
    data.attach()
    org = state.default_org
    creds = state.tokens.self_client(org.id, org.admin.id, ("ZohoCRM.modules.ALL",))
    insert(state.writer(org, org.admin), org.modules["Accounts"], [{"Account_Name": "Kept"}])
    data.close()
    again = EmulatorState()
    restored = SqliteData(path, again)
    assert restored.load()
    records = list(again.default_org.store("Accounts").records.values())
    assert [r["Account_Name"] for r in records] == ["Kept"]
    assert creds["refresh_token"] in again.tokens.refresh_tokens
    assert again.default_org.ids.next() > next(iter(again.default_org.store("Accounts").records))
    restored.close()


def test_page_tokens_expired_for_a_day_are_purged_at_most_hourly() -> None:
    tokens = PageTokens()
    old = tokens.issue("org", "user", "Accounts", (), 1, 200, expires=1_000.0)
    live = tokens.issue("org", "user", "Accounts", (), 1, 200, expires=200_000.0)
    tokens.purge(1_000.0 + 86_400 - 1)
    assert tokens.get(old.token) is not None  # expired, but not for a whole day yet
    tokens.purge(1_000.0 + 86_400 + 1)
    assert tokens.get(old.token) is not None  # purged less than an hour ago
    tokens.purge(1_000.0 + 86_400 + 3_600)
    assert tokens.get(old.token) is None and tokens.get(live.token) is live
