"""What one sync run of a connection works with, built in one place (tests pass the fake).

Pull, push and notification processing all start from `open_context`: the connection's scope,
its frozen configuration snapshot, the Zoho CRM port, the actor ALIX writes as, and the clock.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from alix.clock import Clock
from alix.customers.domain import Actor
from alix.customers.service import sync_actor
from alix.db.session import unit_of_work
from alix.errors import Conflict, NotFound
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.config import SyncConfiguration
from alix.integrations.zoho_crm.kept_clients import KeptClients
from alix.integrations.zoho_crm.repository import load_configuration
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.tables import CONNECTED, ZohoConnection
from alix.jobs.lease import LeaseStore
from alix.jobs.tables import QUEUED, Job
from alix.settings import Settings

# Opens a Zoho CRM port for a stored connection; the default talks HTTP through the
# connection's encrypted tokens, tests pass one that yields the fake or an emulator client.
CrmFactory = Callable[[ZohoConnection], AbstractAsyncContextManager[ZohoCrm]]


def lane_key(connection_id: int) -> str:
    """The job lease key of a connection: its pull, push and hint processing never overlap."""
    return f"zoho_crm:connection:{connection_id}"


# How long a push keeps the connection's lane while another kind of job waits for it: then it
# hands over at its next page and queues itself for the rest. Without turns, CRM edits
# arriving in bursts kept the hints job draining and an ALIX edit's push waited for all of
# them; a reconciliation re-reading ALIX's own pushes held the lane for seconds.
LANE_SLICE = timedelta(seconds=0.5)
# The jobs' turns, as shares of it. The push half: ALIX edits arriving one after the other
# (a person's, an import's) keep a push finding a new page until its turn ends, and a Zoho
# edit's hint waited that long (bench/live.py, Zoho -> ALIX while ALIX bursts run: p95 1.1 s
# with a whole turn). Notifications half too (an ALIX edit waits less behind a burst of Zoho
# edits), incremental pulls one page (background work nobody waits for, resumed from their
# watermarks).
PUSH_SHARE = 0.5
HINTS_SHARE = 0.5
PULL_SHARE = 0.0


def lane_wanted(sessions: sessionmaker[Session], connection_id: int, task: str,
                now: datetime) -> bool:
    """Whether a job of another task is due on the connection's lane (one indexed query)."""
    with sessions() as session:
        return session.scalar(select(Job.id).where(
            Job.lease_key == lane_key(connection_id), Job.status == QUEUED,
            Job.task != task, Job.run_after <= now).limit(1)) is not None


@dataclass
class LaneSlice:
    """A job's turn on its connection's lane: over once it has worked its share of
    `LANE_SLICE` and another kind of job waits (checked between pages)."""

    sessions: sessionmaker[Session]
    connection_id: int
    task: str
    clock: Clock
    share: float = 1.0

    def __post_init__(self) -> None:
        self.started = self.clock()
        self.length = LANE_SLICE * self.share

    def over(self) -> bool:
        now = self.clock()
        return (now - self.started >= self.length
                and lane_wanted(self.sessions, self.connection_id, self.task, now))

    async def ended(self) -> bool:
        """`over`, from a job's loop: the database is asked (in a worker thread) only once
        the share is used, not after every page."""
        if self.clock() - self.started < self.length:
            return False
        return await asyncio.to_thread(self.over)


@dataclass(frozen=True)
class SyncContext:
    """One connection's run: scope, configuration snapshot, Zoho port, ALIX actor, clock."""

    scope: SyncScope
    config: SyncConfiguration
    crm: ZohoCrm
    actor: Actor
    sessions: sessionmaker[Session]
    clock: Clock


def http_clients(settings: Settings, engine: Engine, clock: Clock) -> KeptClients:
    """The production clients: the OAuth client of each stored connection, kept per
    long-lived loop (see kept_clients)."""
    from alix.integrations.zoho_crm.connection import Connector

    return KeptClients(lambda connection: Connector(settings, engine, clock=clock)
                       .client_for(connection))


def http_crm_factory(settings: Settings, engine: Engine, clock: Clock) -> CrmFactory:
    """The production factory: the OAuth client of the stored connection."""
    return http_clients(settings, engine, clock).use


def log_scope(scope: SyncScope) -> None:
    """Name the organisation and connection on every line logged from here, also in jobs
    queued with their connection only (hints, channels). They stay bound for the rest of the
    job (the runner restores its context after each) or request (each runs in a context copy).
    """
    structlog.contextvars.bind_contextvars(organisation_id=scope.organisation_id,
                                           connection_id=scope.connection_id)


@asynccontextmanager
async def open_context(
    sessions: sessionmaker[Session],
    connection_id: int,
    crm_factory: CrmFactory,
    clock: Clock,
    *,
    on_lane: bool = False,
) -> AsyncIterator[SyncContext]:
    """Snapshot the configuration and open the port; refuses a connection that is not usable.

    `on_lane`: hold the connection's lane for the context's life (a person's action run in a
    request: keep a side, sync a customer now, link by hand), as the jobs do, so it never
    interleaves with a pull, push or hints job of the connection; jobs run on the lane already.
    """
    with unit_of_work(sessions) as session:
        connection = session.get(ZohoConnection, connection_id)
        if connection is None:
            raise NotFound(f"Zoho CRM connection {connection_id} does not exist.")
        if connection.status != CONNECTED:
            raise Conflict(
                f"Zoho CRM connection {connection_id} is {connection.status}; connect it on "
                "Settings -> Integration before synchronizing."
            )
        config = load_configuration(session, connection_id)
        actor = sync_actor(session, connection.organisation_id, clock=clock)
        scope = SyncScope(connection.organisation_id, connection.id)
        session.expunge(connection)
    log_scope(scope)
    async with crm_factory(connection) as crm:
        if not on_lane:
            yield SyncContext(scope, config, crm, actor, sessions, clock)
            return
        async with holding_lane(sessions, connection_id, clock):
            yield SyncContext(scope, config, crm, actor, sessions, clock)


LANE_WAIT_SECONDS = 30.0
LANE_TTL_SECONDS = 120.0


@asynccontextmanager
async def holding_lane(sessions: sessionmaker[Session], connection_id: int, clock: Clock,
                       *, wait_seconds: float = LANE_WAIT_SECONDS) -> AsyncIterator[None]:
    """Take the connection's lane lease, waiting for a running job's page to finish (a job
    renews its lease while it runs); Conflict when it stays busy for `wait_seconds`."""
    leases = LeaseStore(sessions.kw["bind"], clock=clock)
    owner, key = f"request-{uuid.uuid4().hex[:12]}", lane_key(connection_id)
    waited = 0.0
    while not await asyncio.to_thread(leases.acquire, key, owner, LANE_TTL_SECONDS):
        if waited >= wait_seconds:
            raise Conflict("Zoho CRM is busy synchronizing this connection; try again in a "
                           "moment.")
        await asyncio.sleep(0.2)
        waited += 0.2
    try:
        yield
    finally:
        await asyncio.to_thread(leases.release, key, owner)
