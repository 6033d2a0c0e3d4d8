"""SQLite: a request that reads then writes never fails because a background job wrote."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

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
