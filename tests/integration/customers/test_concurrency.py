"""Two sessions race for the main billing address: never two mains, never a raw error.

On PostgreSQL both sessions read before either writes (the worst interleaving): one wins, the
other gets a clean error. On SQLite every transaction takes the write lock when it begins
(`BEGIN IMMEDIATE`, alix.db.engine), so the two run one after the other and both succeed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import event

from alix.bootstrap import Container
from alix.customers import addresses
from alix.customers import repository as repo
from alix.customers.domain import Actor
from alix.db.session import unit_of_work
from alix.errors import Conflict, ValidationFailed


def _race(container: Container, jobs: list[Callable[[Any], object]]) -> list[object]:
    """Run jobs in sessions of their own, each held before its first address write until all
    have read: the worst interleaving, every time (where the database lets readers overlap)."""
    if container.engine.dialect.name == "sqlite":
        with ThreadPoolExecutor(len(jobs)) as pool:
            return list(pool.map(lambda job: _run(container, job), jobs))
    barrier = threading.Barrier(len(jobs), timeout=10)
    held: set[int] = set()

    def hold(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE ADDRESSES") and (
            threading.get_ident() not in held
        ):
            held.add(threading.get_ident())
            barrier.wait()

    event.listen(container.engine, "before_cursor_execute", hold)
    try:
        with ThreadPoolExecutor(len(jobs)) as pool:
            return list(pool.map(lambda job: _run(container, job), jobs))
    finally:
        event.remove(container.engine, "before_cursor_execute", hold)


def _run(container: Container, job: Callable[[Any], object]) -> object:
    try:
        with unit_of_work(container.session_factory) as session:
            return job(session)
    except (Conflict, ValidationFailed) as exc:
        return exc


def _one_main_and_a_clean_loser(
    backend: str, container: Container, actor: Actor, customer_id: int, outcomes: list[object]
) -> list[Exception]:
    mains = _billing_mains(container, actor, customer_id)
    assert len(mains) == 1
    losers = [o for o in outcomes if isinstance(o, Exception)]
    if backend == "sqlite":
        assert losers == [], "SQLite serializes the two: both succeed, the later one wins"
        return []
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(losers) == 1 and mains == [winners[0].id]  # type: ignore[attr-defined]
    return losers


def _billing_mains(container: Container, actor: Actor, customer_id: int) -> list[int]:
    with unit_of_work(container.session_factory) as session:
        return [a.id for a in repo.addresses_of(session, actor.organisation_id, customer_id)
                if a.kind == "billing" and a.is_main]


def _two_more(container: Container, actor: Actor, customer_id: int) -> list[int]:
    with unit_of_work(container.session_factory) as session:
        return [addresses.add_address(session, actor, customer_id,
                                      {"kind": "billing", "city": city}).id
                for city in ("Laval", "Gatineau")]


def test_taking_over_the_main_address_at_the_same_moment(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    ids = _two_more(container, actor, customer_id)
    outcomes = _race(container, [
        lambda s, i=i: addresses.set_main_address(s, actor, i) for i in ids])
    for loser in _one_main_and_a_clean_loser(backend, container, actor, customer_id, outcomes):
        assert isinstance(loser, Conflict)
        assert "reload it and try again" in str(loser)


def test_two_first_main_addresses_at_the_same_moment(
    backend: str, container: Container, actor: Actor, customer_id: int
) -> None:
    with unit_of_work(container.session_factory) as session:
        [old_main] = [a for a in repo.addresses_of(session, actor.organisation_id, customer_id)
                      if a.kind == "billing"]
        addresses.remove_address(session, actor, old_main.id)
    ids = _two_more(container, actor, customer_id)
    outcomes = _race(container, [
        lambda s, i=i: addresses.set_main_address(s, actor, i) for i in ids])
    for loser in _one_main_and_a_clean_loser(backend, container, actor, customer_id, outcomes):
        assert isinstance(loser, Conflict | ValidationFailed)
        if isinstance(loser, ValidationFailed):
            assert "saved at the same moment" in loser.errors["is_main"][0]
