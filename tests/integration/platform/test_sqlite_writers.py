"""SQLite: a request that reads then writes never fails because a background job wrote."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from alix.db.engine import make_engine


def _counter(tmp_path: Path, busy_timeout_ms: int, *, busy_wait: bool = True) -> Engine:
    """A database holding one counter at 0; without `busy_wait`, SQLite's own wait for the
    write lock is off: a writer that finds it taken fails at once ("database is locked")
    unless something in this process queued it first."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}", busy_timeout_ms=busy_timeout_ms)
    if not busy_wait:
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout=0")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1, 0)"))
    return engine


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT n FROM t")).scalar_one())


def _together(*jobs: Callable[[], None], signal: threading.Event) -> list[BaseException]:
    """Run the jobs in threads of their own and wait for them; what they raised. A job that
    fails sets `signal`, so one waiting for it does not wait in vain."""
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:
            errors.append(exc)
            signal.set()

    threads = [threading.Thread(target=run, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads), "a writer is still waiting"
    return errors


def test_read_then_write_while_another_writer_commits(tmp_path: Path) -> None:
    engine = _counter(tmp_path, 5000)
    started = threading.Event()

    def request() -> None:  # a page: read, think, write
        with engine.begin() as conn:
            conn.execute(text("SELECT n FROM t")).scalar_one()
            started.set()
            time.sleep(0.3)
            conn.execute(text("UPDATE t SET n = n + 1"))

    def job() -> None:  # a background import committing meanwhile
        started.wait(5)
        with engine.begin() as conn:
            conn.execute(text("UPDATE t SET n = n + 10"))

    assert _together(request, job, signal=started) == []
    assert _count(engine) == 11
    engine.dispose()


def test_writers_of_one_process_queue_on_each_other_not_on_sqlites_back_off(
        tmp_path: Path) -> None:
    """A web request storing a Zoho callback and the job runner writing a push page: the second
    starts when the first commits (alix.db.engine.WriterTurn), not after SQLite's sleeps."""
    engine = _counter(tmp_path, 5000, busy_wait=False)
    holding = threading.Event()
    order: list[str] = []

    def first() -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE t SET n = n + 1"))
            holding.set()
            time.sleep(0.2)
            order.append("first")

    def second() -> None:
        holding.wait(5)
        with engine.begin() as conn:
            order.append("second")
            conn.execute(text("UPDATE t SET n = n + 10"))

    assert _together(first, second, signal=holding) == []
    assert order == ["first", "second"]
    assert _count(engine) == 11
    engine.dispose()


def test_a_transaction_that_ends_any_way_hands_the_turn_on(tmp_path: Path) -> None:
    """Rolled back, failed, or its connection closed mid-way: the next writer gets in at once
    (a turn kept by mistake would hold it for the whole busy timeout, 30 s here)."""
    engine = _counter(tmp_path, 30_000, busy_wait=False)
    with engine.connect() as conn:  # rolled back
        conn.begin()
        conn.execute(text("UPDATE t SET n = 5"))
        conn.rollback()
    with pytest.raises(OperationalError), engine.begin() as conn:  # failed
        conn.execute(text("UPDATE t SET n = 6"))
        conn.execute(text("SELECT * FROM missing"))
    conn = engine.connect()  # returned to the pool unfinished
    conn.begin()
    conn.execute(text("UPDATE t SET n = 7"))
    conn.close()
    raw = engine.connect()  # its driver connection closed unfinished
    raw.begin()
    raw.execute(text("UPDATE t SET n = 8"))
    raw.invalidate()
    raw.close()

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE t SET n = n + 1"))

    assert _together(write, signal=threading.Event()) == []
    assert _count(engine) == 1
    engine.dispose()
