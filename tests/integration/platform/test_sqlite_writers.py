"""SQLite: a request that reads then writes never fails because a background job wrote."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from alix.db.engine import make_engine


def test_read_then_write_while_another_writer_commits(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}", busy_timeout_ms=5000)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1, 0)"))
    started = threading.Event()
    errors: list[BaseException] = []

    def request() -> None:  # a page: read, think, write
        try:
            with engine.begin() as conn:
                conn.execute(text("SELECT n FROM t")).scalar_one()
                started.set()
                time.sleep(0.3)
                conn.execute(text("UPDATE t SET n = n + 1"))
        except BaseException as exc:
            errors.append(exc)
            started.set()

    def job() -> None:  # a background import committing meanwhile
        started.wait(5)
        try:
            with engine.begin() as conn:
                conn.execute(text("UPDATE t SET n = n + 10"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=request), threading.Thread(target=job)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalar_one() == 11
    engine.dispose()


def _no_busy_wait(engine: Engine) -> None:
    """SQLite's own wait for the write lock switched off: a writer that finds it taken fails
    at once ("database is locked") unless something in this process queued it first."""
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")


def test_writers_of_one_process_queue_on_each_other_not_on_sqlites_back_off(
        tmp_path: Path) -> None:
    """A web request storing a Zoho callback and the job runner writing a push page: the second
    starts when the first commits (alix.db.engine.WriterTurn), not after SQLite's sleeps."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}", busy_timeout_ms=5000)
    _no_busy_wait(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1, 0)"))
    holding, errors = threading.Event(), []
    order: list[str] = []

    def first() -> None:
        try:
            with engine.begin() as conn:
                conn.execute(text("UPDATE t SET n = n + 1"))
                holding.set()
                time.sleep(0.2)
                order.append("first")
        except BaseException as exc:
            errors.append(exc)
            holding.set()

    def second() -> None:
        holding.wait(5)
        try:
            with engine.begin() as conn:
                order.append("second")
                conn.execute(text("UPDATE t SET n = n + 10"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert order == ["first", "second"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalar_one() == 11
    engine.dispose()


def test_a_transaction_that_ends_any_way_hands_the_turn_on(tmp_path: Path) -> None:
    """Rolled back, failed, or its connection closed mid-way: the next writer gets in at once
    (a turn kept by mistake would hold it for the whole busy timeout, 30 s here)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}", busy_timeout_ms=30_000)
    _no_busy_wait(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1, 0)"))
    with engine.connect() as conn:  # rolled back
        conn.begin()
        conn.execute(text("UPDATE t SET n = 5"))
        conn.rollback()
    try:  # failed
        with engine.begin() as conn:
            conn.execute(text("UPDATE t SET n = 6"))
            conn.execute(text("SELECT * FROM missing"))
    except OperationalError:
        pass
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

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the next writer waits for a turn nobody holds"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalar_one() == 1
    engine.dispose()
