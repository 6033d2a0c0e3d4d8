"""Every task ALIX registers runs on the procrastinate queue of its kind of work: real-time
work (push, hints, channels) never waits behind an import's pages, pulls are bulk, the sweep
and the workers' housekeeping are maintenance. A task registered without a queue entry fails
here instead of silently landing on bulk."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from alix.bootstrap import TASK_QUEUES, Container, build_container, worker_wiring
from alix.integrations.zoho_crm.sync.engine import channels, hints, push, runs, schedule
from alix.jobs.deferral import BULK, MAINTENANCE, REALTIME
from alix.jobs.workers import RELAY_TASK, STALLED_TASK, TICK_TASK, RunnerPool, WorkerOptions
from alix.jobs.workers import build_app as build_worker_app
from tests.support import make_settings

EXPECTED = {
    push.PUSH_TASK: REALTIME,
    hints.TASK: REALTIME,
    channels.TASK: REALTIME,
    runs.PULL_TASK: BULK,
    schedule.SWEEP_TASK: MAINTENANCE,
    STALLED_TASK: MAINTENANCE,
    RELAY_TASK: MAINTENANCE,
    TICK_TASK: MAINTENANCE,
}


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    built = build_container(make_settings(f"sqlite:///{tmp_path / 'alix.db'}"),
                            with_runner=False)
    yield built
    built.close()


def test_every_registered_task_has_its_own_queue_entry(container: Container) -> None:
    registered = set(container.registry.tasks)
    assert registered - set(TASK_QUEUES) == set(), "registered without a queue entry"
    assert set(TASK_QUEUES) - registered == set(), "a queue entry for no task"


def test_the_workers_run_each_task_on_the_queue_of_its_kind(container: Container) -> None:
    # The procrastinate app a worker builds (its connector opens nothing until it runs).
    wiring = replace(worker_wiring(container), database_url="postgresql://alix@localhost/alix")
    options = WorkerOptions(concurrency=1)
    app = build_worker_app(wiring, options, RunnerPool(wiring, options, "queues"))
    ours = {name: task.queue for name, task in app.tasks.items()
            if not name.startswith(("builtin:", "procrastinate."))}  # procrastinate's own
    assert ours == EXPECTED
