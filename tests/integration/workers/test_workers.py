"""On PostgreSQL with the procrastinate engine, jobs run on `alix worker` processes: queued in
the caller's transaction, one connection's jobs one at a time across workers, the schedule
ticking on them, stray jobs relayed, a stopped worker's job put back (a killed one's:
test_import_on_workers.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import replace
from itertools import combinations

import pytest
import structlog
from sqlalchemy import select, text

from alix.bootstrap import Container, build_container, worker_wiring
from alix.integrations.zoho_crm.kept_clients import KeptClients
from alix.integrations.zoho_crm.sync.engine.schedule import SWEEP_TASK
from alix.jobs.deferral import BULK, REALTIME, procrastinate_dispatcher
from alix.jobs.lease import LeaseStore
from alix.jobs.queue import TaskContext
from alix.jobs.scheduler import ScheduleSpec, put_schedule
from alix.jobs.tables import DONE, QUEUED, Job
from alix.jobs.workers import WorkerOptions, relay, run_worker
from tests.integration.platform.logcapture import captured_logs
from tests.integration.platform.test_kept_clients import all_done, queue_calls, register_call
from tests.integration.workers.conftest import STALLED_SECONDS, StartWorker, url_of, wait_for
from tests.integration.workers.tasks import STEPS_TASK, register_test_tasks, steps
from tests.support import TEST_SECRET, make_settings
from tests.unit.zoho_client.test_kept_clients import Opener

pytestmark = pytest.mark.postgres


def _queue(pg: Container, lane: str, steps: int, seconds: float) -> int:
    with pg.session_factory.begin() as session:
        return pg.queue.enqueue(session, STEPS_TASK, {"steps": steps, "seconds": seconds},
                                lease_key=lane).id


def _jobs(pg: Container, lanes: tuple[str, ...] = ("lane-a", "lane-b")) -> list[Job]:
    with pg.session_factory() as session:
        return list(session.scalars(select(Job).where(Job.task == STEPS_TASK,
                                                      Job.lease_key.in_(lanes))
                                    .order_by(Job.id)))


def _run_due(pg: Container) -> None:
    """A worker in this process that runs what is due, then returns."""
    asyncio.run(run_worker(worker_wiring(pg), WorkerOptions(
        concurrency=1, wait=False, stalled_seconds=STALLED_SECONDS)))


def _procrastinate_jobs(pg: Container) -> int:
    with pg.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task"),
            {"task": STEPS_TASK}).scalar_one())


def _workers_alive(pg: Container) -> int:
    with pg.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one())


def test_a_job_queued_in_a_rolled_back_transaction_never_runs(pg: Container) -> None:
    with pytest.raises(RuntimeError), pg.session_factory.begin() as session:
        pg.queue.enqueue(session, STEPS_TASK, {"steps": 1}, lease_key="lane-a")
        raise RuntimeError("the change that asked for the job failed")
    kept = _queue(pg, "lane-a", steps=3, seconds=0)
    assert _procrastinate_jobs(pg) == 1

    _run_due(pg)

    # Only the committed job ran, and its progress is on its row, where the toast reads it.
    assert [(job.id, job.status, job.progress_done, job.progress_total, job.progress_message)
            for job in _jobs(pg)] == [(kept, DONE, 3, 3, "step 3 of 3")]


def test_two_workers_never_run_one_connections_jobs_at_once(
    pg: Container, start_worker: StartWorker
) -> None:
    with pg.session_factory.begin() as session:  # the scheduler's tick runs on the workers
        put_schedule(session, ScheduleSpec("test-every-second", STEPS_TASK, 1,
                                           {"steps": 1, "seconds": 0.1}, lease_key="lane-s"),
                     pg.clock())
    start_worker("w1")
    start_worker("w2")
    wait_for(lambda: _workers_alive(pg) == 2, 30, "both workers to start")
    for _ in range(4):
        _queue(pg, "lane-a", steps=1, seconds=0.4)
        _queue(pg, "lane-b", steps=1, seconds=0.4)

    wait_for(lambda: all(job.status == DONE for job in _jobs(pg)), 30, "every job to finish")
    wait_for(lambda: any(job.status == DONE for job in _jobs(pg, ("lane-s",))), 10,
             "a scheduled job to run")

    jobs = _jobs(pg)
    spans = [(job.lease_key, job.started_at, job.finished_at) for job in jobs]

    def overlap(one: tuple[object, ...], other: tuple[object, ...]) -> bool:
        return one[1] < other[2] and other[1] < one[2]  # type: ignore[operator]

    same_lane = [(a, b) for a, b in combinations(spans, 2) if a[0] == b[0] and overlap(a, b)]
    assert same_lane == []
    # The workers did run at the same time: the two lanes overlapped, on both workers.
    assert any(a[0] != b[0] and overlap(a, b) for a, b in combinations(spans, 2))
    assert {(job.worker or "").split("-")[0] for job in jobs} == {"w1", "w2"}


def test_a_job_no_worker_was_told_of_is_relayed(pg: Container) -> None:
    # Queued by a process on the in-process engine (an `alix sync` of an older set-up, say):
    # only its `jobs` row exists.
    settings = make_settings(pg.settings.database_url, jobs_engine="in_process")
    other = build_container(settings, engine=pg.engine, with_runner=False)
    register_test_tasks(other.registry)
    with other.session_factory.begin() as session:
        job_id = other.queue.enqueue(session, STEPS_TASK, {"steps": 2}, lease_key="lane-a").id
    assert _procrastinate_jobs(pg) == 0

    assert relay(worker_wiring(pg), STALLED_SECONDS) == [job_id]
    assert relay(worker_wiring(pg), STALLED_SECONDS) == []  # relayed once, not twice
    _run_due(pg)

    assert [(job.id, job.status, job.progress_done) for job in _jobs(pg)] == [(job_id, DONE, 2)]


def test_a_stopped_worker_puts_its_job_back_for_the_next(
    pg: Container, start_worker: StartWorker
) -> None:
    first = start_worker("w1")
    wait_for(lambda: _workers_alive(pg) == 1, 30, "the first worker to start")
    job_id = _queue(pg, "lane-a", steps=30, seconds=0.2)
    wait_for(lambda: _jobs(pg)[0].progress_done >= 2, 20, "the job to be under way")

    first.send_signal(signal.SIGTERM)
    assert first.wait(20) == 0

    # Stopped between two steps: back in the queue, its progress kept, not a failed attempt,
    # and a procrastinate job waits for the next worker.
    (job,) = _jobs(pg)
    assert (job.id, job.status, job.attempts) == (job_id, QUEUED, 0)
    assert 2 <= job.progress_done < 30
    assert _procrastinate_jobs(pg) == 1


def test_alix_worker_once_runs_what_is_due_and_exits(pg: Container) -> None:
    with pg.session_factory.begin() as session:
        job_id = pg.queue.enqueue(session, SWEEP_TASK, {}).id
    env = {key: value for key, value in os.environ.items() if not key.startswith("ALIX_")}
    env.update({"ALIX_ENVIRONMENT": "test", "ALIX_DATABASE_URL": url_of(pg.engine),
                "ALIX_SECRET_KEY": TEST_SECRET, "ALIX_JOBS_ENGINE": "procrastinate",
                "ALIX_RUN_JOBS_IN_PROCESS": "false"})

    done = subprocess.run([sys.executable, "-m", "alix.cli", "worker", "--once",
                           "--concurrency", "1"], env=env, capture_output=True, text=True,
                          timeout=60, check=False)

    assert done.returncode == 0, done.stderr[-3000:]
    with pg.session_factory() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == DONE


def test_a_job_whose_lane_another_runner_holds_waits_for_it(pg: Container) -> None:
    # An `alix sync` (an in-process runner) holds the connection's lane.
    LeaseStore(pg.engine).acquire("lane-a", "cli-1234", 60)
    job_id = _queue(pg, "lane-a", steps=1, seconds=0)

    _run_due(pg)

    # Not run beside the sync, and not dropped: its procrastinate job comes back later.
    (job,) = _jobs(pg)
    assert (job.id, job.status, job.attempts) == (job_id, QUEUED, 0)
    with pg.engine.connect() as conn:
        waiting = conn.execute(text(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task"
            " AND status = 'todo' AND scheduled_at > now()"), {"task": STEPS_TASK}).scalar_one()
    assert waiting == 1


def test_realtime_work_runs_before_bulk_work_queued_earlier(pg: Container) -> None:
    def queue_of(task: str) -> str:
        return BULK if task == STEPS_TASK else REALTIME

    pg.queue.dispatcher = procrastinate_dispatcher(queue_of)
    pg.registry.register("test.realtime")(steps)
    with pg.session_factory.begin() as session:
        for org in range(3):  # three organisations' imports...
            pg.queue.enqueue(session, STEPS_TASK, {"steps": 1}, lease_key=f"import-{org}")
        # ...then another organisation's edit.
        pg.queue.enqueue(session, "test.realtime", {"steps": 1}, lease_key="edit")

    asyncio.run(run_worker(replace(worker_wiring(pg), queue_of=queue_of), WorkerOptions(
        concurrency=1, wait=False, stalled_seconds=STALLED_SECONDS)))

    with pg.session_factory() as session:
        order = session.scalars(select(Job.lease_key).where(Job.status == DONE,
                                                            Job.lease_key != None)  # noqa: E711
                                .order_by(Job.started_at)).all()
    assert order == ["edit", "import-0", "import-1", "import-2"]


def test_procrastinate_needs_postgresql() -> None:
    with pytest.raises(ValueError, match="needs PostgreSQL"):
        make_settings("sqlite:///alix.db", jobs_engine="procrastinate")


def test_a_workers_jobs_log_the_same_ids_as_the_in_process_runners(pg: Container) -> None:
    def binds_a_run(ctx: TaskContext) -> None:
        # As a sync does once its run row exists (sync.store.runs.start_run).
        if ctx.payload.get("run_id"):
            structlog.contextvars.bind_contextvars(run_id=ctx.payload["run_id"])
        logging.getLogger("alix.integrations.zoho_crm.sync.test").info("a sync line")

    pg.registry.register("test.logs")(binds_a_run)
    with pg.session_factory.begin() as session:
        first = pg.queue.enqueue(session, "test.logs", {"connection_id": 7, "run_id": 70},
                                 lease_key="logs").id
        second = pg.queue.enqueue(session, "test.logs", {"connection_id": 8},
                                  lease_key="logs").id

    with captured_logs() as out:
        _run_due(pg)

    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    ours = [line for line in lines if line["event"] == "a sync line"]
    assert [(line["job_id"], line["task"], line["connection_id"], line.get("run_id"))
            for line in ours] == [(first, "test.logs", 7, 70), (second, "test.logs", 8, None)]
    done = [line for line in lines if str(line["event"]).startswith(f"Job {first} ")]
    assert done and all(line["run_id"] == 70 for line in done), done


def test_a_worker_slot_keeps_a_connections_client_between_jobs(pg: Container) -> None:
    opener = Opener()
    clients = KeptClients(opener)
    register_call(pg, clients)
    queue_calls(pg, 1, 1, 1)
    asyncio.run(run_worker(replace(worker_wiring(pg), loop_resources=(clients,)),
                           WorkerOptions(concurrency=1, wait=False,
                                         stalled_seconds=STALLED_SECONDS)))
    assert all_done(pg)
    assert len(opener.clients) == 1, "the slot's next jobs reused its client"
    assert opener.clients[0].closed, "closed when the worker stopped"
