"""The composition root: the one place where settings, database, clock and jobs meet."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from alix.clock import Clock, utc_now
from alix.db.engine import make_engine
from alix.db.session import make_session_factory
from alix.integrations.zoho_crm.metering import UsageListener, metered, store_usage
from alix.integrations.zoho_crm.services import ZohoServices, zoho_services
from alix.integrations.zoho_crm.sync.engine import channels as zoho_channels
from alix.integrations.zoho_crm.sync.engine import hints as zoho_hints
from alix.integrations.zoho_crm.sync.engine import push as zoho_push
from alix.integrations.zoho_crm.sync.engine import runs as zoho_pull
from alix.integrations.zoho_crm.sync.engine import schedule as zoho_schedule
from alix.integrations.zoho_crm.sync.engine.context import CrmFactory
from alix.integrations.zoho_crm.sync.engine.push_trigger import install_push_trigger
from alix.jobs.deferral import BULK, MAINTENANCE, REALTIME, procrastinate_dispatcher
from alix.jobs.queue import JobQueue, TaskContext, TaskFn, TaskRegistry
from alix.jobs.runner import JobRunner, LoopResources
from alix.jobs.scheduler import Scheduler
from alix.settings import Settings

if TYPE_CHECKING:  # workers load procrastinate: only `alix worker` imports them
    import httpx

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
    # Read when used (by each request, and by each Zoho task as it starts): `use_zoho` swaps it.
    zoho: ZohoServices
    runner: JobRunner | None = None
    # Queues due schedules (the reconciliation, the sweep); the runner calls it each loop.
    scheduler: Scheduler | None = None
    # Told of each closed Zoho client's API usage: the database's totals (every process), the
    # web's per-process Prometheus counters (alix.web.metrics adds them).
    usage_listeners: list[UsageListener] = field(default_factory=list)

    def use_zoho(self, *, crm_factory: CrmFactory | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        """Swap the Zoho CRM collaborators given (tests: the fake or an emulator client, a mock
        transport for the connect flow); pages and tasks that start afterwards use them. The
        factory is metered like the production one, so its clients' usage is counted too."""
        factory = metered(crm_factory or self.zoho.crm_factory, self.usage_listeners)
        self.zoho = replace(self.zoho, crm_factory=factory,
                            transport=transport or self.zoho.transport)

    def loop_resources(self) -> tuple[LoopResources, ...]:
        """What a long-lived job loop keeps between jobs: the production Zoho clients."""
        clients = self.zoho.clients
        return (clients,) if clients is not None else ()

    def close(self) -> None:
        if self.runner is not None:
            self.runner.stop()
        self.engine.dispose()


ZohoTask = Callable[[TaskContext, ZohoServices], Awaitable[None]]


def register_tasks(registry: TaskRegistry, zoho: Callable[[], ZohoServices]) -> None:
    """Register every task of every feature (features add their own here).

    `zoho` gives the Zoho CRM tasks their services as they are when the task runs (the
    container's, which a test may swap after the runner started)."""
    registry.register(zoho_push.PUSH_TASK)(with_services(zoho_push.push_task, zoho))
    registry.register(zoho_channels.TASK)(with_services(zoho_channels.keep_channels, zoho))
    registry.register(zoho_hints.TASK)(with_services(zoho_hints.hints_task(), zoho))
    registry.register(zoho_pull.PULL_TASK)(with_services(zoho_pull.pull_task, zoho))
    registry.register(zoho_schedule.SWEEP_TASK)(zoho_schedule.sweep_task)


def with_services(task: ZohoTask, zoho: Callable[[], ZohoServices]) -> TaskFn:
    """The task as the runner calls it: with the job's context and the current services."""
    def run(ctx: TaskContext) -> Awaitable[None]:
        return task(ctx, zoho())

    run.__name__ = run.__qualname__ = getattr(task, "__name__", run.__name__)
    return run


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
    """What `alix worker` hands procrastinate: the container's queue (with its tasks)."""
    from alix.jobs.workers import WorkerWiring

    return WorkerWiring(
        database_url=container.settings.database_url, engine=container.engine,
        session_factory=container.session_factory, queue=container.queue,
        clock=container.clock, queue_of=queue_of, scheduler=container.scheduler,
        loop_resources=container.loop_resources())


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
    container = Container(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        clock=clock,
        registry=registry,
        queue=queue,
        zoho=zoho_services(settings, engine, clock),
        scheduler=scheduler,
    )
    container.usage_listeners.append(store_usage(engine, clock))
    container.use_zoho()  # meters the production factory
    register_tasks(registry, lambda: container.zoho)
    if settings.run_jobs_in_process if with_runner is None else with_runner:
        container.runner = JobRunner(engine, session_factory, queue, clock=clock,
                                     heartbeat_seconds=settings.job_heartbeat_seconds,
                                     scheduler=scheduler,
                                     loop_resources=container.loop_resources())
    return container
