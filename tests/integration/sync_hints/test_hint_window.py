"""Hints gathered for a short window before a read: a burst of callbacks costs one record read
per hundred records, not one per callback."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from alix.integrations.zoho_crm.sync.engine.hints import HintWindow, process_hints

from .conftest import World

WINDOW = HintWindow(seconds=0.2, ids=100)


def _burst(world: World, ids: list[str], *, every: timedelta, size: int) -> None:
    """Zoho's callbacks of `size` ids each, one every `every`, the first one already stored:
    the others land while the worker waits (its sleep is the clock moving on)."""
    callbacks = [ids[i:i + size] for i in range(0, len(ids), size)]
    world.hint("Accounts", "insert", *[(i, None) for i in callbacks.pop(0)])
    due = world.clock() + every

    async def sleep(seconds: float) -> None:
        nonlocal due
        world.clock.advance(seconds)
        while callbacks and due <= world.clock():
            world.hint("Accounts", "insert", *[(i, None) for i in callbacks.pop(0)])
            due += every

    asyncio.run(process_hints(world.ctx, window=WINDOW, sleep=sleep))
    assert not callbacks


def test_callbacks_within_the_window_cost_one_read_per_hundred_records(world: World) -> None:
    ids = world.zoho_insert("Accounts", *[
        {"Account_Name": f"Customer {i:03}", "Currency": "CAD"} for i in range(250)])
    _burst(world, ids, every=timedelta(milliseconds=5), size=10)
    assert world.crm.read_calls == 3  # ceil(250 / 100)
    assert len(world.customers()) == 250
    assert world.pending() == 0


def test_a_lone_edit_is_read_once_the_window_has_passed(world: World) -> None:
    [acme] = world.zoho_insert("Accounts", {"Account_Name": "Acme", "Currency": "CAD"})
    started = world.clock()
    _burst(world, [acme], every=timedelta(milliseconds=5), size=1)
    assert world.crm.read_calls == 1
    waited = world.clock() - started
    assert timedelta(milliseconds=200) <= waited < timedelta(milliseconds=300)
    assert "Acme" in world.customers()
