"""`/metrics` in Prometheus' text format: the sync's progress and backlog, the job queue, the
Zoho API calls and credits this process spent, and the Zoho callbacks it was sent twice.

Two sources, chosen so that several processes (web workers, job workers, two machines) never
disagree:

- Everything the database knows is read from it at scrape time: records pulled (the runs'
  committed progress), outcomes, open issues, pending changes and the age of the oldest in
  each direction, queued jobs and the oldest one's wait. Any process answers the same figures,
  so a scrape of any web process is the whole installation's truth.
- API calls and credits are counted by each Zoho client (client/credits.py) and, when it
  closes, added to the connection's row of `zoho_api_usage` by whatever process opened it
  (alix.integrations.zoho_crm.metering, installed by the composition root): the
  `alix_zoho_api_*_stored` totals per connection include every job worker on every machine.
  This web process also adds them to its own counters (`alix_zoho_api_calls`, ...); with several
  web processes on one machine, PROMETHEUS_MULTIPROC_DIR (`alix serve --workers N` sets it)
  sums theirs.

Access: `Authorization: Bearer <ALIX_METRICS_TOKEN>` only. The figures reveal activity of
every organisation, so neither anonymous callers nor an organisation's users may read them.
"""

from __future__ import annotations

import hmac
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from fastapi import APIRouter, Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from starlette.responses import JSONResponse, Response

from alix.clock import Clock, as_utc
from alix.customers.outbox import PENDING
from alix.customers.tables import customer_outbox
from alix.integrations.zoho_crm.metering import Usage
from alix.integrations.zoho_crm.notifications import NOTIFICATION_REPLAYS
from alix.integrations.zoho_crm.sync.store.issues import IssueStatus
from alix.integrations.zoho_crm.sync.store.runs import RunKind
from alix.integrations.zoho_crm.sync.store.tables import (
    zoho_inbox,
    zoho_sync_issues,
    zoho_sync_runs,
)
from alix.integrations.zoho_crm.sync.store.usage import ApiUsage, read_usage
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.jobs.tables import QUEUED, RUNNING, Job

if TYPE_CHECKING:
    from alix.bootstrap import Container

router = APIRouter()

# This process's Zoho API usage. In multi-process mode prometheus-client writes these to
# PROMETHEUS_MULTIPROC_DIR and the scrape sums every process's files.
PROCESS_REGISTRY = CollectorRegistry()
API_CALLS = Counter("alix_zoho_api_calls", "Zoho CRM API calls completed.",
                    registry=PROCESS_REGISTRY)
API_CREDITS = Counter("alix_zoho_api_credits", "Zoho CRM API credits spent.",
                      registry=PROCESS_REGISTRY)
# The callbacks Zoho delivered twice, counted by the endpoint that answered them.
PROCESS_REGISTRY.register(NOTIFICATION_REPLAYS)
API_CREDITS_REMAINING = Gauge(
    "alix_zoho_api_credits_remaining",
    "Zoho's X-API-CREDITS-REMAINING as last seen (Zoho sends it once half is used).",
    registry=PROCESS_REGISTRY, multiprocess_mode="mostrecent")


def record_api_usage(usage: Usage) -> None:
    """Add one use of a client's calls and credits to this process's counters."""
    API_CALLS.inc(usage.calls)
    API_CREDITS.inc(usage.credits)
    if usage.remaining is not None:
        API_CREDITS_REMAINING.set(usage.remaining)


@dataclass(frozen=True)
class SyncFigures:
    """What the database says about the sync and the jobs at one moment."""

    pulled: Tally[str] = field(default_factory=Tally)  # module -> records
    outcomes: Tally[str] = field(default_factory=Tally)  # created, updated, skipped...
    open_issues: Tally[str] = field(default_factory=Tally)  # direction -> count
    pending: dict[str, int] = field(default_factory=dict)  # direction -> changes waiting
    oldest_pending: dict[str, float] = field(default_factory=dict)  # direction -> seconds
    jobs: Tally[str] = field(default_factory=Tally)  # status -> count
    oldest_queued_seconds: float = 0.0
    api_usage: tuple[ApiUsage, ...] = ()  # every connection's stored calls and credits


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - as_utc(since)).total_seconds()) if since is not None else 0.0


def read_figures(engine: Engine, now: datetime) -> SyncFigures:
    """One consistent read of every figure the metrics show."""
    figures = SyncFigures()
    pulls = [k.value for k in RunKind if k is not RunKind.PUSH]
    with engine.connect() as conn:
        for progress, counts in conn.execute(select(
                zoho_sync_runs.c.progress, zoho_sync_runs.c.counts,
        ).where(zoho_sync_runs.c.kind.in_(pulls))):
            for module, p in (progress or {}).items():
                figures.pulled[str(module)] += int(p.get("done", 0))
            for outcome, n in (counts or {}).items():
                figures.outcomes[str(outcome)] += int(n)
        for direction, n in conn.execute(select(
                zoho_sync_issues.c.direction, func.count()).where(
                zoho_sync_issues.c.status == IssueStatus.OPEN.value).group_by(
                zoho_sync_issues.c.direction)):
            figures.open_issues[str(direction)] = int(n)
        hints, first_hint = conn.execute(select(
            func.count(), func.min(zoho_inbox.c.received_at)).where(
            zoho_inbox.c.processed_at.is_(None))).one()
        changes, first_change = conn.execute(select(
            func.count(), func.min(customer_outbox.c.created_at)).where(
            customer_outbox.c.status == PENDING)).one()
        figures.pending.update(pull=int(hints), push=int(changes))
        figures.oldest_pending.update(pull=_age(now, first_hint), push=_age(now, first_change))
        for status, n in conn.execute(select(Job.status, func.count()).group_by(Job.status)):
            figures.jobs[str(status)] = int(n)
        first_due = conn.execute(select(func.min(Job.run_after)).where(
            Job.status == QUEUED, Job.run_after <= now)).scalar_one()
        usage = tuple(read_usage(conn))
    return SyncFigures(
        figures.pulled, figures.outcomes, figures.open_issues, figures.pending,
        figures.oldest_pending, figures.jobs, _age(now, first_due), usage)


def families(figures: SyncFigures) -> Iterator[Metric]:
    """The Prometheus metric families of `figures`."""
    pulled = CounterMetricFamily("alix_sync_records_pulled",
                                 "Records read from Zoho CRM by committed pull pages.",
                                 labels=["module"])
    for module, n in sorted(figures.pulled.items()):
        pulled.add_metric([module], n)
    yield pulled
    outcomes = CounterMetricFamily("alix_sync_pull_outcomes",
                                   "What the pull did with each record.", labels=["outcome"])
    for outcome, n in sorted(figures.outcomes.items()):
        outcomes.add_metric([outcome], n)
    yield outcomes
    issues = GaugeMetricFamily("alix_sync_issues_open", "Records needing attention.",
                               labels=["direction"])
    pending = GaugeMetricFamily(
        "alix_sync_pending_changes",
        "Changes waiting: Zoho notification hints (pull), ALIX outbox rows (push).",
        labels=["direction"])
    lag = GaugeMetricFamily("alix_sync_oldest_pending_seconds",
                            "Age of the oldest change waiting in each direction.",
                            labels=["direction"])
    for direction in ("pull", "push"):
        issues.add_metric([direction], figures.open_issues.get(direction, 0))
        pending.add_metric([direction], figures.pending.get(direction, 0))
        lag.add_metric([direction], figures.oldest_pending.get(direction, 0.0))
    yield from (issues, pending, lag)
    yield GaugeMetricFamily("alix_jobs_queued", "Jobs waiting to run (due or not).",
                            value=figures.jobs.get(QUEUED, 0))
    yield GaugeMetricFamily("alix_jobs_running", "Jobs running now.",
                            value=figures.jobs.get(RUNNING, 0))
    yield GaugeMetricFamily("alix_jobs_oldest_queued_seconds",
                            "How long the oldest due job has waited for a runner.",
                            value=figures.oldest_queued_seconds)
    yield from usage_families(figures.api_usage)


def usage_families(usage: Iterable[ApiUsage]) -> Iterator[Metric]:
    """Every process's Zoho API usage, per connection, as the database has it."""
    labels = ["connection", "organisation"]
    calls = CounterMetricFamily("alix_zoho_api_calls_stored",
                                "Zoho CRM API calls completed by every process.", labels=labels)
    credits = CounterMetricFamily("alix_zoho_api_credits_stored",
                                  "Zoho CRM API credits spent by every process.", labels=labels)
    for row in usage:
        ids = [str(row.connection_id), str(row.organisation_id)]
        calls.add_metric(ids, row.calls)
        credits.add_metric(ids, row.credits)
    yield from (calls, credits)


class DatabaseCollector(Collector):
    """Reads the figures from the database at each scrape."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def collect(self) -> Iterable[Metric]:
        return list(families(read_figures(self._engine, self._clock())))


def exposition(container: Container) -> bytes:
    """The whole scrape: the database's figures, then this process's (or all processes')."""
    database = CollectorRegistry()
    database.register(DatabaseCollector(container.engine, container.clock))
    directory = container.settings.prometheus_multiproc_dir
    if directory:
        processes = CollectorRegistry()
        MultiProcessCollector(processes, path=directory)
    else:
        processes = PROCESS_REGISTRY
    return generate_latest(database) + generate_latest(processes)


def _authorised(request: Request, expected: str) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                              expected.encode())


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    container: Container = request.app.state.container
    expected = container.settings.metrics_token.get_secret_value()
    if not expected:
        return JSONResponse({"detail": "Metrics are disabled: set ALIX_METRICS_TOKEN and "
                                       "scrape with `Authorization: Bearer <token>`."},
                            status_code=403)
    if not _authorised(request, expected):
        return JSONResponse({"detail": "A valid metrics token is required."}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    body = await anyio.to_thread.run_sync(exposition, container)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _count_in_process(connection: ZohoConnection, usage: Usage) -> None:
    record_api_usage(usage)


def install(container: Container) -> None:
    """Also count the API usage of every Zoho client this process opens in its own counters
    (the composition root already stores it in the database)."""
    if _count_in_process not in container.usage_listeners:
        container.usage_listeners.append(_count_in_process)


def prepare_multiprocess_directory(directory: str) -> None:
    """Empty `directory` before the web processes start: prometheus-client keeps one file per
    process there, and files of an earlier run would add old counts to the new ones."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
