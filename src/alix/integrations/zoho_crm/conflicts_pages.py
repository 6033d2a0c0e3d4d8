"""Settings -> Integration -> Zoho CRM -> Conflicts: each open conflict side by side, settled with
Keep ALIX's, Keep Zoho's or a typed value (POST -> redirect -> flash)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from alix.db.session import unit_of_work
from alix.errors import AlixError
from alix.web.auth import CurrentAdmin
from alix.web.dependencies import ContainerDep
from alix.web.templating import flash, render

from . import conflicts, repository
from .offloop import off_loop
from .sync.normalize import SyncValue
from .sync.store.scope import SyncScope
from .tables import CONNECTED

router = APIRouter(include_in_schema=False)

CONFLICTS = "/settings/integrations/zoho-crm/conflicts"


@router.get(CONFLICTS, response_class=HTMLResponse, name="zoho_crm_conflicts")
def conflicts_page(request: Request, admin: CurrentAdmin, container: ContainerDep,
                   cursor: Annotated[int | None, Query(ge=1)] = None) -> Response:
    with unit_of_work(container.session_factory) as session:
        found = repository.connection_of(session, admin.organisation_id)
        if found is None or found.status != CONNECTED:
            flash(request, "Connect Zoho CRM first.", "info")
            return RedirectResponse("/settings/integrations", status_code=303)
        page = conflicts.conflict_page(session, SyncScope(admin.organisation_id, found.id),
                                       cursor)
    return render(request, "zoho_crm/conflicts.html", {"page": page, "cursor": cursor})


def _shown(value: SyncValue) -> str:
    return "(empty)" if value is None or value == "" else str(value)


@router.post(f"{CONFLICTS}/{{issue_id}}/resolve")
async def resolve(request: Request, issue_id: int, keep: Annotated[str, Form()],
                  admin: CurrentAdmin, container: ContainerDep,
                  value: Annotated[str, Form()] = "") -> Response:
    """Keep one side's value (keep=alix|zoho) or write the typed one (keep=value)."""
    by = admin.name or admin.email
    factory = container.zoho.crm_factory

    async def work() -> SyncValue:  # its connection lookup too (tests/loop_guard.py)
        with unit_of_work(container.session_factory) as session:
            found = repository.connection_of(session, admin.organisation_id)
            if found is None or found.status != CONNECTED:
                raise AlixError("Connect Zoho CRM first.")
            connection_id = found.id
        return await conflicts.settle(container.session_factory, factory, container.clock,
                                      connection_id, issue_id, keep, value, by=by)

    try:
        written = await off_loop(work)
    except (AlixError, ValueError) as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"Settled with {_shown(written)}: both sides hold it now.")
    return RedirectResponse(CONFLICTS, status_code=303)
