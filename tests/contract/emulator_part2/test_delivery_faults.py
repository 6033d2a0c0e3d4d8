"""Notification faults set through test control, and what happens when notify_url fails."""

from __future__ import annotations

import time

import httpx

from zoho_emulator.receiver import CallbackReceiver
from zoho_emulator.testing import EmulatorServer

from .conftest import create_account, watch


def _log(emu: EmulatorServer, size: int) -> list[dict[str, object]]:
    """The delivery log once it holds `size` entries (the sender logs after the answer)."""
    deadline = time.monotonic() + 3
    log: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        log = emu.control("notifications/deliveries")["log"]
        if len(log) >= size:
            break
        time.sleep(0.02)
    return log


def _names(api: httpx.Client, hooks: CallbackReceiver, count: int) -> list[str]:
    return [create_account(api, f"Account {i}") for i in range(count)]


def test_dropped_callbacks_never_arrive(api: httpx.Client, hooks: CallbackReceiver,
                                        emu: EmulatorServer) -> None:
    watch(api, hooks)
    emu.control("notifications/faults", {"drop_next": 1})
    ids = _names(api, hooks, 2)
    calls = hooks.wait_for(lambda c: len(c) >= 1)
    hooks.wait_for(lambda c: len(c) >= 2, timeout=0.3)
    assert [c.body["ids"] for c in hooks.calls] == [[ids[1]]]
    assert calls and emu.control("notifications/deliveries")["counts"]["dropped"] == 1


def test_duplicated_callbacks_arrive_twice(api: httpx.Client, hooks: CallbackReceiver,
                                           emu: EmulatorServer) -> None:
    watch(api, hooks)
    emu.control("notifications/faults", {"duplicate_next": 1})
    (rid,) = _names(api, hooks, 1)
    calls = hooks.wait_for(lambda c: len(c) >= 2)
    assert [c.body["ids"] for c in calls] == [[rid], [rid]]


def test_delayed_callbacks_arrive_late(api: httpx.Client, hooks: CallbackReceiver,
                                       emu: EmulatorServer) -> None:
    watch(api, hooks)
    emu.control("notifications/faults", {"delay_ms": 400})
    start = time.perf_counter()
    _names(api, hooks, 1)
    assert hooks.wait_for(lambda c: len(c) >= 1, timeout=0.2) == []
    calls = hooks.wait_for(lambda c: len(c) >= 1, timeout=3)
    assert calls[0].arrived - start >= 0.4


def test_reordered_callbacks_arrive_newest_first(api: httpx.Client, hooks: CallbackReceiver,
                                                 emu: EmulatorServer) -> None:
    watch(api, hooks)
    emu.control("notifications/faults", {"reorder_window": 3})
    ids = _names(api, hooks, 3)
    calls = hooks.wait_for(lambda c: len(c) >= 3)
    assert [c.body["ids"][0] for c in calls] == list(reversed(ids))


def test_callback_can_arrive_before_the_writes_own_response(
        api: httpx.Client, hooks: CallbackReceiver, emu: EmulatorServer) -> None:
    watch(api, hooks)
    emu.control("notifications/faults", {"before_response": True})
    answer = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Racy"}]})
    answered = time.perf_counter()
    assert len(hooks.calls) == 1  # already there, no waiting
    assert hooks.calls[0].arrived < answered
    assert hooks.calls[0].body["ids"] == [answer.json()["data"][0]["details"]["id"]]


def test_failing_notify_url_is_not_retried_by_default(api: httpx.Client,
                                                      hooks: CallbackReceiver,
                                                      emu: EmulatorServer) -> None:
    watch(api, hooks)
    hooks.status = 500
    _names(api, hooks, 1)
    hooks.wait_for(lambda c: len(c) >= 1)
    hooks.wait_for(lambda c: len(c) >= 2, timeout=0.4)
    assert len(hooks.calls) == 1
    log = _log(emu, 1)
    assert [(e["outcome"], e["status"]) for e in log] == [("failed", 500)]


def test_failing_notify_url_with_retries(api: httpx.Client, hooks: CallbackReceiver,
                                         emu: EmulatorServer) -> None:
    watch(api, hooks)
    emu.control("notifications/faults", {"retries": 2, "retry_delay_ms": 150})
    hooks.status = 500
    (rid,) = _names(api, hooks, 1)
    hooks.wait_for(lambda c: len(c) >= 1)
    hooks.status = 200  # the receiver recovers before the first retry
    calls = hooks.wait_for(lambda c: len(c) >= 2, timeout=3)
    assert [c.body["ids"] for c in calls] == [[rid], [rid]]
    log = _log(emu, 2)
    assert [(e["outcome"], e["status"], e["attempt"]) for e in log] == [
        ("failed", 500, 1), ("delivered", 200, 2)]
