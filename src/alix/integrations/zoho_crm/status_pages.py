"""Settings -> Integration -> Zoho CRM -> Synchronization: the last runs and the records the sync
could not sync, with Retry now, Retry all and Dismiss (POST -> redirect -> flash)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from alix.bootstrap import Container
from alix.db.session import unit_of_work
from alix.errors import AlixError
from alix.web.auth import CurrentAdmin, Principal
from alix.web.dependencies import ContainerDep
from alix.web.templating import flash, render, templates

from . import repository, status, status_causes
from .offloop import off_loop
from .sync.engine.resolve import Keep, keep_side
from .sync.store.issues import Direction
from .sync.store.runs import person
from .tables import CONNECTED

router = APIRouter(include_in_schema=False)

INTEGRATIONS = "/settings/integrations"
SYNC = "/settings/integrations/zoho-crm/sync"


@router.get(SYNC, response_class=HTMLResponse, name="zoho_crm_sync_status")
def sync_status(
    request: Request,
    admin: CurrentAdmin,
    container: ContainerDep,
    cursor: Annotated[int | None, Query(ge=1)] = None,
    direction: str = "",
    module: str = "",
    cause: str = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The runs, and what needs attention by cause, filtered by direction, module and cause
    (unknown values mean "any"), a page of causes at a time."""
    chosen = status_causes.CauseFilter(
        Direction(direction) if direction in {d.value for d in Direction} else None,
        module if module in status_causes.MODULES else None, cause or None)
    with unit_of_work(container.session_factory) as session:
        found = repository.connection_of(session, admin.organisation_id)
        if found is None or found.status != CONNECTED:
            flash(request, "Connect Zoho CRM first.", "info")
            return RedirectResponse(INTEGRATIONS, status_code=303)
        scope = status.scope_of(session, admin.organisation_id)
        runs = status.recent_runs(session, scope)
        page = status.issue_page(session, scope, cursor)
        causes = status_causes.cause_page(status_causes.causes(
            session, scope, status_causes.crm_base(found.api_domain, found.zoho_org_id)),
            chosen, offset)
    filters = {"direction": direction if chosen.direction else "",
               "module": chosen.module or "", "cause": chosen.cause or ""}
    return render(request, "zoho_crm/sync_status.html", {
        "runs": runs, "page": page, "cursor": cursor, "causes": causes.groups,
        "cause_page": causes, "filters": filters, "modules": status_causes.MODULES,
        "directions": status.DIRECTION_LABELS, "filtered": any(filters.values()),
    })


def _act(request: Request, container: ContainerDep, admin: Principal,
         work: Callable[[Session, status.SyncScope], str]) -> Response:
    try:
        with unit_of_work(container.session_factory) as session:
            done = work(session, status.scope_of(session, admin.organisation_id))
    except AlixError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, done)
    return RedirectResponse(SYNC + "#issues", status_code=303)


def retried_sentence(outcome: status.RetryOutcome) -> str:
    if not outcome.retried:
        return "No record needs attention: there was nothing to retry."
    records = "1 record" if outcome.retried == 1 else f"{outcome.retried} records"
    jobs = " and ".join({"pull": "Zoho → ALIX", "push": "ALIX → Zoho"}[j] for j in outcome.jobs)
    return (f"Retrying {records} now: the {jobs} synchronization is queued; a record that "
            "syncs leaves this list.")


@router.post(f"{SYNC}/issues/retry")
def retry_all(request: Request, admin: CurrentAdmin, container: ContainerDep) -> Response:
    return _act(request, container, admin, lambda s, scope: retried_sentence(
        status.retry(s, container.queue, scope, container.clock(),
                     started_by=person(admin.name, admin.email))))


@router.post(f"{SYNC}/issues/{{issue_id}}/retry")
def retry_one(request: Request, issue_id: int, admin: CurrentAdmin,
              container: ContainerDep) -> Response:
    return _act(request, container, admin, lambda s, scope: retried_sentence(
        status.retry(s, container.queue, scope, container.clock(), issue_id,
                     started_by=person(admin.name, admin.email))))


@router.post(f"{SYNC}/issues/{{issue_id}}/dismiss")
def dismiss(request: Request, issue_id: int, admin: CurrentAdmin,
            container: ContainerDep) -> Response:
    def work(session: Session, scope: status.SyncScope) -> str:
        status.dismiss(session, scope, issue_id, container.clock(), admin.name or admin.email)
        return ("You dismissed the issue: the sync will not retry it; it comes back if the "
                "record fails again after a change.")

    return _act(request, container, admin, work)


async def settle(container: Container, admin: Principal, issue_id: int, keep: Keep) -> object:
    """Settle a conflict of the caller's organisation with one side's value (one Zoho call)."""
    async def work() -> object:  # its connection lookup too (tests/loop_guard.py)
        with unit_of_work(container.session_factory) as session:
            scope = status.scope_of(session, admin.organisation_id)
        return await keep_side(container.session_factory, container.zoho.crm_factory,
                               container.clock, scope.connection_id, issue_id, keep,
                               by=admin.name or admin.email)

    return await off_loop(work)


@router.post(f"{SYNC}/issues/{{issue_id}}/resolve")
async def resolve(request: Request, issue_id: int, keep: Annotated[Keep, Form()],
                  admin: CurrentAdmin, container: ContainerDep) -> Response:
    try:
        value = await settle(container, admin, issue_id, keep)
    except AlixError as exc:
        flash(request, str(exc), "error")
    else:
        side = "ALIX's" if keep is Keep.ALIX else "Zoho's"
        flash(request, f"You kept {side} value {value!r}: both sides hold it now.")
    return RedirectResponse(SYNC + "#issues", status_code=303)


def sync_summary(request: Request) -> status.Summary | None:
    """For Details (a template global): the last run and the open issues of the caller's
    organisation, or None when it has no live connection."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return None
    container = request.app.state.container
    with unit_of_work(container.session_factory) as session:
        found = repository.connection_of(session, principal.organisation_id)
        if found is None or found.status != CONNECTED:
            return None
        return status.summary(session, status.SyncScope(principal.organisation_id, found.id))


templates.env.globals["zoho_sync_summary"] = sync_summary
