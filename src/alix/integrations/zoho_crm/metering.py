"""Counting the Zoho API usage of every use of a client the composition root's factory opens.

`alix.bootstrap` wraps the factory once for every process (web, `alix worker`, the CLI), so
usage is stored in the database whatever process spent it; listeners (the web's per-process
Prometheus counters) are told too. A client may serve many jobs (kept_clients), so each use
reports what was spent during it, not the client's running totals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from alix.clock import Clock
from alix.integrations.zoho_crm.client import CreditMeter, ZohoCrm
from alix.integrations.zoho_crm.sync.engine.context import CrmFactory
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.store.usage import add_usage
from alix.integrations.zoho_crm.tables import ZohoConnection

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Usage:
    """What one use of a client spent, and Zoho's remaining credits as last seen."""

    calls: int
    credits: int
    remaining: int | None = None

    @staticmethod
    def since(meter: CreditMeter, calls: int, credits: int) -> Usage:
        return Usage(meter.calls - calls, meter.spent - credits, meter.remaining)


# Told of each use's usage (its connection, what it spent).
UsageListener = Callable[[ZohoConnection, Usage], None]


def meter_of(crm: object) -> CreditMeter | None:
    """The client's meter; None for a port that counts nothing (the in-memory fake)."""
    meter = getattr(getattr(crm, "session", None), "credits", None)
    return meter if isinstance(meter, CreditMeter) else None


def store_usage(engine: Engine, clock: Clock) -> UsageListener:
    """The listener that adds a use's counts to `zoho_api_usage`."""

    def store(connection: ZohoConnection, usage: Usage) -> None:
        if not usage.calls:
            return
        scope = SyncScope(connection.organisation_id, connection.id)
        try:
            with engine.begin() as conn:
                add_usage(conn, scope, usage.calls, usage.credits, clock())
        except SQLAlchemyError:
            # Counting must never fail the sync that spent them (a connection removed
            # meanwhile has no row to add to).
            log.warning("zoho_api_usage_not_stored", calls=usage.calls,
                        credits=usage.credits, exc_info=True)

    return store


def metered(factory: CrmFactory, listeners: list[UsageListener]) -> CrmFactory:
    """`factory` telling `listeners` of each use's usage when it ends. The list is read
    at each close, so a listener added later (the web app's counters) is told too. Wrapping a
    metered factory again wraps its original: a client is never counted twice."""
    inner: CrmFactory = getattr(factory, "alix_unmetered", factory)

    @asynccontextmanager
    async def open_crm(connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        async with inner(connection) as crm:
            meter = meter_of(crm)
            calls, credits = (meter.calls, meter.spent) if meter is not None else (0, 0)
            try:
                yield crm
            finally:
                if meter is not None:
                    usage = Usage.since(meter, calls, credits)
                    for listener in listeners:
                        listener(connection, usage)

    open_crm.alix_unmetered = inner  # type: ignore[attr-defined]
    return open_crm
