"""Counting the Zoho API usage of every client the composition root's CRM factory opens.

`alix.bootstrap` wraps the factory once for every process (web, `alix worker`, the CLI), so
usage is stored in the database whatever process spent it; listeners (the web's per-process
Prometheus counters) are told too."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

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

# Told of each closed client's meter (its connection, its counts).
UsageListener = Callable[[ZohoConnection, CreditMeter], None]


def meter_of(crm: object) -> CreditMeter | None:
    """The client's meter; None for a port that counts nothing (the in-memory fake)."""
    meter = getattr(getattr(crm, "session", None), "credits", None)
    return meter if isinstance(meter, CreditMeter) else None


def store_usage(engine: Engine, clock: Clock) -> UsageListener:
    """The listener that adds a closed client's counts to `zoho_api_usage`."""

    def store(connection: ZohoConnection, meter: CreditMeter) -> None:
        scope = SyncScope(connection.organisation_id, connection.id)
        try:
            with engine.begin() as conn:
                add_usage(conn, scope, meter.calls, meter.spent, clock())
        except SQLAlchemyError:
            # Counting must never fail the sync that spent them (a connection removed
            # meanwhile has no row to add to).
            log.warning("zoho_api_usage_not_stored", calls=meter.calls, credits=meter.spent,
                        exc_info=True)

    return store


def metered(factory: CrmFactory, listeners: list[UsageListener]) -> CrmFactory:
    """`factory` telling `listeners` of each client's usage when it closes. The list is read
    at each close, so a listener added later (the web app's counters) is told too. Wrapping a
    metered factory again wraps its original: a client is never counted twice."""
    inner: CrmFactory = getattr(factory, "alix_unmetered", factory)

    @asynccontextmanager
    async def open_crm(connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        async with inner(connection) as crm:
            try:
                yield crm
            finally:
                meter = meter_of(crm)
                if meter is not None:
                    for listener in listeners:
                        listener(connection, meter)

    open_crm.alix_unmetered = inner  # type: ignore[attr-defined]
    return open_crm
