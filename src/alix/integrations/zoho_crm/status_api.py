"""REST API of the sync's status: runs and open issues, retry and dismiss (administrators)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query

from alix.db.session import unit_of_work
from alix.jobs import api as jobs_api
from alix.web.auth import CurrentAdmin, Principal
from alix.web.dependencies import ContainerDep
from alix.web.ids import IdPath

from . import status, status_causes
from .status_pages import settle
from .sync.engine.push import PUSH_TASK
from .sync.engine.resolve import Keep
from .sync.engine.runs import PULL_TASK
from .sync.store.issues import Direction
from .sync.store.runs import person

router = APIRouter(prefix="/api/v1/integrations/zoho-crm/sync", tags=["zoho-crm"])

# The toast names these jobs and, once they end, shows their run's counts (alix.jobs.api).
jobs_api.describe(PULL_TASK, "Zoho CRM synchronization", status.job_outcome)
jobs_api.describe(PUSH_TASK, "Zoho CRM synchronization (ALIX → Zoho)", status.job_outcome)


@router.get("/runs")
def runs(admin: CurrentAdmin, container: ContainerDep,
         limit: Annotated[int, Query(ge=1, le=100)] = status.RUNS_SHOWN) -> dict[str, Any]:
    """The connection's last runs, newest first."""
    with unit_of_work(container.session_factory) as session:
        scope = status.scope_of(session, admin.organisation_id)
        return {"runs": [r.json() for r in status.recent_runs(session, scope, limit)]}


@router.get("/issues")
def issues(admin: CurrentAdmin, container: ContainerDep,
           cursor: Annotated[int | None, Query(ge=1)] = None,
           limit: Annotated[int, Query(ge=1, le=200)] = status.PAGE_SIZE) -> dict[str, Any]:
    """Open issues, newest first; pass `next_cursor` back as `cursor` for the next page."""
    with unit_of_work(container.session_factory) as session:
        scope = status.scope_of(session, admin.organisation_id)
        page = status.issue_page(session, scope, cursor, limit)
    return {"issues": [i.json() for i in page.issues], "next_cursor": page.next_cursor,
            "total": page.total}


Module = Literal["customers", "contacts", "addresses"]


@router.get("/causes")
def causes(admin: CurrentAdmin, container: ContainerDep,
           direction: Annotated[Direction | None, Query(
               description="pull (Zoho → ALIX) or push (ALIX → Zoho) records only.")] = None,
           module: Annotated[Module | None, Query(
               description="customers, contacts or addresses records only.")] = None,
           cause: Annotated[str | None, Query(
               description="One cause: the `cause` value of a listed cause.")] = None,
           offset: Annotated[int, Query(ge=0)] = 0,
           limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """Open issues grouped by cause (code, field, value), the largest first, each with its
    fix, its counts per module and its records (follow-on records under their Account's).
    Filtered by direction, module and cause (a cause keeps only the records they keep);
    pass `next_offset` back as `offset` for the next page of causes."""
    with unit_of_work(container.session_factory) as session:
        scope = status.scope_of(session, admin.organisation_id)
        page = status_causes.cause_page(status_causes.causes(session, scope),
                                        status_causes.CauseFilter(direction, module, cause),
                                        offset, limit)
    return {"causes": [group.json() for group in page.groups], "total": page.total,
            "records": page.records, "offset": page.offset, "next_offset": page.next_offset}


def _retry(container: ContainerDep, admin: Principal, issue_id: int | None
           ) -> dict[str, Any]:
    started_by = person(admin.name, admin.email)
    with unit_of_work(container.session_factory) as session:
        scope = status.scope_of(session, admin.organisation_id)
        outcome = status.retry(session, container.queue, scope, container.clock(), issue_id,
                               started_by=started_by)
    return {"retried": outcome.retried, "jobs": outcome.jobs}


@router.post("/issues/retry", status_code=202)
def retry_all(admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """Make every open issue due now and queue the pull and/or push that retries them."""
    return _retry(container, admin, None)


@router.post("/issues/{issue_id}/retry", status_code=202)
def retry_one(issue_id: IdPath, admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """Make one open issue due now and queue its direction's job; 404 when not open here."""
    return _retry(container, admin, issue_id)


@router.post("/issues/{issue_id}/dismiss")
def dismiss(issue_id: IdPath, admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """Resolve an open issue: a person decided it needs nothing more."""
    with unit_of_work(container.session_factory) as session:
        scope = status.scope_of(session, admin.organisation_id)
        status.dismiss(session, scope, issue_id, container.clock(), admin.name or admin.email)
    return {"id": issue_id, "status": "resolved", "dismissed_by": admin.name or admin.email}


@router.post("/issues/{issue_id}/resolve")
async def resolve(issue_id: IdPath, keep: Annotated[Keep, Body(embed=True)], admin: CurrentAdmin,
                  container: ContainerDep) -> dict[str, Any]:
    """Settle an open conflict with ALIX's or Zoho's value, written to both sides at once;
    404 when it is not an open conflict here, 409 when Zoho refuses the value."""
    value = await settle(container, admin, issue_id, keep)
    return {"id": issue_id, "status": "resolved", "kept": keep.value, "value": value}
