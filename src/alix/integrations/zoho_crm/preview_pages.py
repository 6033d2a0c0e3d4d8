"""Settings -> Integration -> Zoho CRM -> Preview: what the first sync would do, read from Zoho
and planned without applying, and the choice for each ambiguous name (POST -> redirect)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from alix.bootstrap import Container
from alix.db.session import unit_of_work
from alix.errors import AlixError, Conflict
from alix.web.auth import CurrentAdmin, Principal
from alix.web.dependencies import ContainerDep
from alix.web.templating import flash, render

from . import preview, repository
from .offloop import off_loop
from .sync.engine.context import SyncContext, open_context
from .tables import CONNECTED

router = APIRouter(include_in_schema=False)

PREVIEW = "/settings/integrations/zoho-crm/preview"
ACTIONS = (("create", "Create in ALIX"), ("link", "Link by name"), ("ambiguous", "Ambiguous name"),
           ("skip", "Skipped"), ("reject", "Rejected"), ("update", "Already linked"),
           ("conflict", "Conflicts"), ("noop", "Unchanged"), ("tombstoned", "Deleted pair"))


@asynccontextmanager
async def _context(container: Container, admin: Principal, *, on_lane: bool = False
                   ) -> AsyncIterator[SyncContext]:
    with unit_of_work(container.session_factory) as session:
        found = repository.connection_of(session, admin.organisation_id)
        if found is None or found.status != CONNECTED:
            raise Conflict("Connect Zoho CRM first.")
        connection_id = found.id
    factory = container.zoho.crm_factory
    async with open_context(container.session_factory, connection_id, factory,
                            container.clock, on_lane=on_lane) as ctx:
        yield ctx


@router.get(PREVIEW, response_class=HTMLResponse, name="zoho_crm_preview")
async def preview_page(request: Request, admin: CurrentAdmin, container: ContainerDep
                       ) -> Response:
    try:
        async def work() -> preview.Preview:
            async with _context(container, admin) as ctx:
                return await preview.preview_first_sync(ctx)

        shown = await off_loop(work)
    except AlixError as exc:
        flash(request, str(exc), "error")
        return RedirectResponse("/settings/integrations/zoho-crm", status_code=303)
    return render(request, "zoho_crm/preview.html", {"preview": shown, "actions": ACTIONS})


@router.post(f"{PREVIEW}/ambiguous/{{zoho_id}}")
async def choose(request: Request, zoho_id: str, choice: Annotated[str, Form()],
                 admin: CurrentAdmin, container: ContainerDep) -> Response:
    """Link the ambiguous Account to the chosen customer, or to a new one ("new")."""
    try:
        async def work() -> str:
            async with _context(container, admin, on_lane=True) as ctx:
                return await preview.choose(ctx, zoho_id, choice.strip())

        linked = await off_loop(work)
    except AlixError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"Zoho Account {zoho_id} is linked to {linked}: the first sync keeps "
                       "that pair.")
    return RedirectResponse(PREVIEW + "#ambiguous", status_code=303)
