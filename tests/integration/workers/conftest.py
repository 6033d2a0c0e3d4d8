"""PostgreSQL with procrastinate's schema in the run's schema, a container deferring to it,
and worker processes started and killed like an operator's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from alix.bootstrap import Container, build_container
from alix.jobs.workers import ensure_schema
from tests.integration.workers.tasks import register_test_tasks
from tests.support import make_settings

ROOT = Path(__file__).resolve().parents[3]
STALLED_SECONDS = 2.0


@pytest.fixture
def backend() -> str:
    """Workers are PostgreSQL's: the `engine` fixture gives the run's schema."""
    return "postgres"


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def pg(backend: str, engine: Engine) -> Iterator[Container]:
    """A container whose queue defers to procrastinate, with the test tasks."""
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE procrastinate_jobs, procrastinate_workers,"
                          " procrastinate_periodic_defers, procrastinate_events CASCADE"))
    settings = make_settings(url_of(engine), jobs_engine="procrastinate",
                             job_heartbeat_seconds=STALLED_SECONDS)
    container = build_container(settings, engine=engine, with_runner=False)
    register_test_tasks(container.registry)
    yield container


StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(pg: Container, tmp_path: Path) -> Iterator[StartWorker]:
    """Start `alix worker`-like processes (with the test tasks); all are killed at the end."""
    started: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def start(name: str, **extra_env: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.workers.worker_proc",
                 url_of(pg.engine), name, str(STALLED_SECONDS)],
                cwd=ROOT, env={**env, **extra_env}, stdout=log, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(10)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}.")
        time.sleep(0.1)
