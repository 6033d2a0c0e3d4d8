"""No database call on the web app's event loop.

The engine's calls are synchronous. On the loop they stop every other request until they
return, and on SQLite worse: a transaction there waits for the write lock, which another
request's session may hold until the loop sends that request's answer, so both wait for the
busy timeout and one fails with "database is locked" (the Zoho CRM Details page did, in the
browser test). Routes read and write in a worker thread: a sync route, `run_in_threadpool`, or
`off_loop` for the sync engine's async work.

TestClient serves the app from anyio's portal thread ("<backend>-portal-<id>",
anyio.from_thread.start_blocking_portal); a statement sent from that thread while its loop
runs is recorded, and the test that sent it fails (conftest.py).
"""

from __future__ import annotations

import asyncio
import threading
import traceback
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

SEEN: list[str] = []


def _on_the_apps_loop() -> bool:
    if "-portal-" not in threading.current_thread().name:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _where() -> str:
    frames = [f for f in traceback.extract_stack() if "/src/alix/" in f.filename]
    return " <- ".join(f"{f.filename.split('/src/')[1]}:{f.lineno} {f.name}"
                       for f in reversed(frames[-5:]))


def _check(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if _on_the_apps_loop():
        SEEN.append(f"{statement.split()[0]} from {_where()}")


def install() -> None:
    if not event.contains(Engine, "before_cursor_execute", _check):
        event.listen(Engine, "before_cursor_execute", _check)
