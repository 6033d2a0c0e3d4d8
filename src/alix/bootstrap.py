"""The composition root: the one place where settings, database, clock and jobs meet."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from alix.clock import Clock, utc_now
from alix.db.engine import make_engine
from alix.db.session import make_session_factory
from alix.integrations.zoho_crm.sync.engine import channels as zoho_channels
from alix.integrations.zoho_crm.sync.engine import hints as zoho_hints
from alix.integrations.zoho_crm.sync.engine import push as zoho_push
from alix.integrations.zoho_crm.sync.engine import runs as zoho_pull
from alix.integrations.zoho_crm.sync.engine import schedule as zoho_schedule
from alix.integrations.zoho_crm.sync.engine.context import http_crm_factory
from alix.integrations.zoho_crm.sync.engine.push_trigger import install_push_trigger
from alix.jobs.deferral import BULK, MAINTENANCE, REALTIME, procrastinate_dispatcher
from alix.jobs.queue import JobQueue, TaskRegistry
from alix.jobs.runner import JobRunner
from alix.jobs.scheduler import Scheduler
from alix.settings import Settings

if TYPE_CHECKING:  # workers load procrastinate: only `alix worker` imports them
    from alix.jobs.workers import WorkerWiring


@dataclass
class Container:
    """Everything a web app, CLI command, worker or test needs, built once."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    registry: TaskRegistry
    queue: JobQueue
    runner: JobRunner | None = None
    # Shared with the runner's task context: swap "zoho_crm_factory" in tests.
    extras: dict[str, object] = field(default_factory=dict)
    # Queues due schedules (the reconciliation, the sweep); the runner calls it each loop.
    scheduler: Scheduler | None = None

    def close(self) -> None:
        if self.runner is not None:
            self.runner.stop()
        self.engine.dispose()


def register_tasks(registry: TaskRegistry) -> None:
    """Register every task of every feature (features add their own here)."""
    registry.register(zoho_push.PUSH_TASK)(zoho_push.push_task)
    registry.register(zoho_channels.TASK)(zoho_channels.keep_channels)
    registry.register(zoho_hints.TASK)(zoho_hints.hints_task())
    zoho_pull.register(registry)
    registry.register(zoho_schedule.SWEEP_TASK)(zoho_schedule.sweep_task)


# procrastinate queue per task: real-time work is never stuck behind an import's pages.
TASK_QUEUES = {
    zoho_push.PUSH_TASK: REALTIME,
    zoho_hints.TASK: REALTIME,
    zoho_channels.TASK: REALTIME,
    zoho_pull.PULL_TASK: BULK,
    zoho_schedule.SWEEP_TASK: MAINTENANCE,
}


def queue_of(task: str) -> str:
    return TASK_QUEUES.get(task, BULK)


def worker_wiring(container: Container) -> WorkerWiring:
    """What `alix worker` hands procrastinate: the container's queue, tasks and services."""
    from alix.jobs.workers import WorkerWiring

    return WorkerWiring(
        database_url=container.settings.database_url, engine=container.engine,
        session_factory=container.session_factory, queue=container.queue,
        clock=container.clock, services=container.extras, queue_of=queue_of,
        scheduler=container.scheduler)


def build_container(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    engine: Engine | None = None,
    with_runner: bool | None = None,
) -> Container:
    """Build the app's collaborators; the runner is created but not started."""
    engine = engine or make_engine(
        settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    registry = TaskRegistry()
    register_tasks(registry)
    # With procrastinate, enqueue also defers its procrastinate job in the same transaction.
    dispatcher = (procrastinate_dispatcher(queue_of)
                  if settings.jobs_engine == "procrastinate" else None)
    queue = JobQueue(registry, clock=clock, dispatcher=dispatcher)
    session_factory = make_session_factory(engine)
    install_push_trigger(session_factory, queue)  # ALIX changes queue the Zoho CRM push
    # Switching modules, connecting and disconnecting queue the notification channels task.
    zoho_channels.install_channel_trigger(session_factory, queue)
    # ...and start or stop the connection's reconciliation schedule.
    zoho_schedule.install_schedule_trigger(session_factory, queue)
    scheduler = Scheduler(session_factory, queue, standing=zoho_schedule.STANDING)
    extras: dict[str, object] = {"zoho_crm_factory": http_crm_factory(settings, engine, clock),
                                 "public_url": settings.public_base}
    runner = None
    if settings.run_jobs_in_process if with_runner is None else with_runner:
        runner = JobRunner(engine, session_factory, queue, clock=clock, services=extras,
                           heartbeat_seconds=settings.job_heartbeat_seconds, scheduler=scheduler)
    return Container(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        clock=clock,
        registry=registry,
        queue=queue,
        runner=runner,
        extras=extras,
        scheduler=scheduler,
    )
