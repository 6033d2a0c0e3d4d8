"""The process the crash tests kill: ALIX's sync run the way production runs it, killed with
SIGKILL by itself at the point its test chose.

    python -m tests.crash.worker cli --org NAME [--initial]   # `alix sync`
    python -m tests.crash.worker runner                        # a job runner draining the queue

Settings come from the environment (ALIX_*), as for `alix`. Kill points, read only here:
- CRASH_KILL_AFTER_PAGES=N: after the N-th committed page of the pull (`alix sync` prints a
  progress line once a page has committed; the N-th line kills the process).
- CRASH_KILL_AFTER_WRITES=N: after Zoho answered the N-th write call (insert, update, upsert,
  delete), before ALIX recorded the answer: the worst moment for duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TextIO

from sqlalchemy import func, select

from alix.bootstrap import build_container
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.sync.engine.push import PUSH_TASK
from alix.integrations.zoho_crm.sync.engine.runs import PULL_TASK
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.jobs.runner import JobRunner
from alix.jobs.tables import QUEUED, RUNNING, Job
from alix.settings import Settings

KILL_AFTER_PAGES = "CRASH_KILL_AFTER_PAGES"
KILL_AFTER_WRITES = "CRASH_KILL_AFTER_WRITES"
WRITES = frozenset({"insert", "update", "upsert", "delete"})
DRAIN_SECONDS = float(os.environ.get("CRASH_DRAIN_SECONDS", "120"))


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class KillAfterPages:
    """Stands in for stderr: counts the CLI's progress lines of committed pages."""

    def __init__(self, inner: TextIO, pages: int) -> None:
        self._inner = inner
        self._left = pages

    def write(self, text: str) -> int:
        written = self._inner.write(text)
        if "records/s" in text:  # "Zoho CRM sync: Accounts, 812 records/s": a page committed
            self._left -= 1
            if self._left == 0:
                die()
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class KillAfterWrites:
    """A Zoho CRM port that forwards everything and dies once the N-th write has answered."""

    def __init__(self, crm: ZohoCrm, counter: list[int]) -> None:
        self._crm = crm
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._crm, name)
        if name not in WRITES:
            return attribute

        async def write(*args: Any, **kwargs: Any) -> Any:
            answer = await attribute(*args, **kwargs)
            self._counter[0] -= 1
            if self._counter[0] == 0:
                die()
            return answer

        return write


def killing_factory(
    inner: Callable[[ZohoConnection], AbstractAsyncContextManager[ZohoCrm]], writes: int,
) -> Callable[[ZohoConnection], AbstractAsyncContextManager[Any]]:
    counter = [writes]

    @asynccontextmanager
    async def open_crm(connection: ZohoConnection) -> AsyncIterator[Any]:
        async with inner(connection) as crm:
            yield KillAfterWrites(crm, counter)

    return open_crm


def sync_jobs_left(runner_engine: Any) -> int:
    with runner_engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Job).where(
            Job.task.in_((PULL_TASK, PUSH_TASK)), Job.status.in_((QUEUED, RUNNING)),
        )).scalar_one())


async def drain(runner: JobRunner, engine: Any) -> int:
    """Run jobs (reclaiming a killed process's once its heartbeat is stale) until no sync
    job is left; 0, or 2 when that takes longer than DRAIN_SECONDS."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        await runner.run_pending()
        if not sync_jobs_left(engine):
            return 0
        await asyncio.sleep(0.1)
    print("The sync jobs were still not done when the worker gave up.", file=sys.stderr)
    return 2


def run_runner() -> int:
    settings = Settings()
    container = build_container(settings, with_runner=False)
    writes = int(os.environ.get(KILL_AFTER_WRITES, "0"))
    if writes:
        container.use_zoho(crm_factory=killing_factory(container.zoho.crm_factory, writes))
    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       clock=container.clock, poll_seconds=0.1,
                       heartbeat_seconds=settings.job_heartbeat_seconds)
    try:
        return asyncio.run(drain(runner, container.engine))
    finally:
        container.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="crash-worker")
    parser.add_argument("mode", choices=["cli", "runner"])
    parser.add_argument("--org", default="Acme Ltd")
    parser.add_argument("--initial", action="store_true")
    args = parser.parse_args(argv)
    if args.mode == "runner":
        return run_runner()
    from alix.cli import main as alix

    pages = int(os.environ.get(KILL_AFTER_PAGES, "0"))
    if pages:
        sys.stderr = KillAfterPages(sys.stderr, pages)
    return alix(["sync", "--org", args.org, *(["--initial"] if args.initial else [])])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
