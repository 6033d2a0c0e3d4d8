"""Engine creation: SQLite tuned for a web app plus background imports, or PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool


def make_engine(url: str, *, busy_timeout_ms: int = 10_000, echo: bool = False) -> Engine:
    """Create the engine for url; SQLite gets WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)

    database = parsed.database or ""
    in_memory = database in ("", ":memory:")
    if not in_memory:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {
        "echo": echo,
        "connect_args": {"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
    }
    if in_memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT and
        # BEGIN IMMEDIATE; we issue BEGIN ourselves (SQLAlchemy docs, "Serializable isolation").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            # WAL lets pages read while a background import writes.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    turn = WriterTurn(busy_timeout_ms / 1000)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: with a deferred BEGIN, a request that read
        # and then writes after a background job committed fails at once with "database is
        # locked" (its snapshot is stale, so SQLite cannot wait). Writers now queue: on the
        # turn within this process, on the busy timeout across processes; WAL still lets
        # reads outside transactions run alongside.
        turn.enter(conn.connection)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            turn.leave(conn.connection)
            raise

    turn.wrap(engine.dialect)
    return engine


class WriterTurn:
    """The turn to write among one engine's SQLite connections in this process.

    SQLite has one writer at a time, and a connection that finds the write lock taken polls
    for it, sleeping 1, 2, 5, 10, ... 100 ms between tries (sqliteDefaultBusyCallback). Two
    threads of one process (a web request storing a Zoho callback while the job runner writes
    a push page) then lose milliseconds per transaction to those sleeps, which is most of the
    push's time under a stream of callbacks (bench/live.py). Queued on this lock first, a
    writer starts as soon as the one before it commits. Writers of other processes (a second
    `alix sync`, the import's page writer) still meet SQLite's own busy timeout.

    A connection that already holds the turn enters again freely; one that waits longer than
    the busy timeout goes on to SQLite, which then decides as it did without the turn (a
    same-thread nesting cannot deadlock here for longer than that).
    """

    def __init__(self, timeout: float) -> None:
        self._lock = threading.Lock()
        self._holder: Any = None
        self.timeout = timeout

    def enter(self, connection: Any) -> None:
        """`connection`: the driver's, or the pool's proxy of it (what the dialect gets)."""
        raw = _driver_connection(connection)
        if self._holder is raw:
            return
        if self._lock.acquire(timeout=self.timeout):
            self._holder = raw

    def leave(self, connection: Any) -> None:
        if self._holder is _driver_connection(connection):
            self._holder = None
            self._lock.release()

    def wrap(self, dialect: Any) -> None:
        """Leave the turn once a transaction ended: after its COMMIT or ROLLBACK ran (the
        engine's commit and rollback events come before them), or its connection closed."""
        for name in ("do_commit", "do_rollback", "do_close"):
            setattr(dialect, name, self._after(getattr(dialect, name)))

    def _after(self, end: Any) -> Any:
        def ended(connection: Any) -> None:
            try:
                end(connection)
            finally:
                self.leave(connection)
        return ended


def _driver_connection(connection: Any) -> Any:
    return getattr(connection, "dbapi_connection", None) or connection
