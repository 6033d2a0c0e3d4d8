"""Settings -> Integration pages: the list, Connect and its callback, and Details."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from alix.db.session import unit_of_work
from alix.errors import AlixError, Forbidden, ValidationFailed
from alix.identity.tables import Organisation
from alix.jobs.tables import Job
from alix.web.auth import CurrentAdmin, Principal
from alix.web.dependencies import ContainerDep
from alix.web.templating import flash, render, watch_job

from . import onboarding, preflight, repository, service
from .api import connection_json
from .client.errors import ZohoError
from .connection import CALLBACK_PATH, DATA_CENTRE_NAMES
from .mappers import MAPPERS, MODULES, MapperKind, ModuleKind
from .rules import ConflictPolicy, DeletePolicy
from .sync.engine.runs import start_for_organisation
from .sync.engine.schedule import reconciliation_sentence
from .sync.store import runs as run_store
from .sync.store.scope import SyncScope
from .tables import CONNECTED, ZohoConnection

router = APIRouter(include_in_schema=False)

INTEGRATIONS = "/settings/integrations"
PREFLIGHT_SECONDS = 6  # Details opens without the warning rather than wait on a slow Zoho
DETAILS = "/settings/integrations/zoho-crm"

CONFLICT_LABELS = {
    ConflictPolicy.MOST_RECENT: "Most recent change wins",
    ConflictPolicy.CRM_WINS: "Zoho CRM wins",
    ConflictPolicy.ALIX_WINS: "ALIX wins",
    ConflictPolicy.ASK: "Ask me",
}
DELETE_LABELS = {
    DeletePolicy.DELETE: "Delete",
    DeletePolicy.MARK_INACTIVE: "Mark inactive",
    DeletePolicy.IGNORE: "Ignore",
}


@router.get(INTEGRATIONS, response_class=HTMLResponse, name="integrations")
def integrations(request: Request, admin: CurrentAdmin, container: ContainerDep) -> Response:
    with unit_of_work(container.session_factory) as session:
        found = repository.connection_of(session, admin.organisation_id)
        status = connection_json(found)
    return render(request, "zoho_crm/integrations.html", {
        "zoho": status,
        "data_centres": DATA_CENTRE_NAMES,
        "override": container.settings.zoho_accounts_url,
        "configured": bool(container.settings.zoho_client_id),
    })


@router.post(f"{DETAILS}/connect")
async def connect(
    request: Request,
    admin: CurrentAdmin,
    container: ContainerDep,
    location: Annotated[str, Form()] = "us",
) -> Response:
    try:
        url = await onboarding.start(container, request.session, location)
    except AlixError as exc:
        flash(request, str(exc), "error")
        return RedirectResponse(INTEGRATIONS, status_code=303)
    return RedirectResponse(url, status_code=303)


@router.get(CALLBACK_PATH, response_class=HTMLResponse)
async def oauth_callback(request: Request, container: ContainerDep) -> Response:
    # Public route (alix.web.public): Zoho's redirect lands here; we check the session and the
    # state ourselves.
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None or not principal.is_admin:
        raise Forbidden(
            "Log in to ALIX as an administrator, then click Connect on Settings -> Integration."
        )
    found = await onboarding.callback(
        container, request.session, organisation_id=principal.organisation_id,
        user_id=principal.user_id, params=dict(request.query_params),
    )
    return render(request, "zoho_crm/confirm.html", {"zoho": connection_json(found)})


@router.post(f"{DETAILS}/confirm")
async def confirm(request: Request, admin: CurrentAdmin, container: ContainerDep) -> Response:
    found = await onboarding.confirm(container, admin.organisation_id)
    # Org names often end in "Inc." or "Ltd."; don't end the sentence twice.
    flash(request, f"Zoho CRM is connected to {found.zoho_org_name.rstrip('.')}.")
    return RedirectResponse(INTEGRATIONS, status_code=303)


@router.post(f"{DETAILS}/cancel")
async def cancel(request: Request, admin: CurrentAdmin, container: ContainerDep) -> Response:
    await onboarding.cancel(container, admin.organisation_id)
    flash(request, "Nothing was connected; the authorization was revoked.", "info")
    return RedirectResponse(INTEGRATIONS, status_code=303)


@router.post(f"{DETAILS}/disconnect")
async def disconnect(request: Request, admin: CurrentAdmin, container: ContainerDep) -> Response:
    warning = await onboarding.disconnect(container, admin.organisation_id)
    flash(request, "Zoho CRM is disconnected; its settings are kept for a reconnect.", "info")
    if warning:
        flash(request, warning, "warning")
    return RedirectResponse(INTEGRATIONS, status_code=303)


@router.get(f"{DETAILS}/remove", response_class=HTMLResponse)
def remove_page(request: Request, admin: CurrentAdmin, container: ContainerDep) -> Response:
    """The confirmation of Remove integration: what will be deleted, on a page of its own so
    that it works without JavaScript and reads well with a screen reader."""
    with unit_of_work(container.session_factory) as session:
        found = repository.connection_of(session, admin.organisation_id)
        zoho = connection_json(found)
    if found is None:
        flash(request, "Zoho CRM has no integration to remove.", "info")
        return RedirectResponse(INTEGRATIONS, status_code=303)
    return render(request, "zoho_crm/remove.html", {"zoho": zoho})


@router.post(f"{DETAILS}/remove")
async def remove(request: Request, admin: CurrentAdmin, container: ContainerDep) -> Response:
    try:
        warning = await onboarding.remove(container, admin.organisation_id)
    except AlixError as exc:
        flash(request, str(exc), "error")
        return RedirectResponse(INTEGRATIONS, status_code=303)
    flash(request, "The Zoho CRM integration and its configuration were removed; Connect "
                   "may now link ALIX to any Zoho CRM org.", "info")
    if warning:
        flash(request, warning, "warning")
    return RedirectResponse(INTEGRATIONS, status_code=303)


@router.post(f"{DETAILS}/refresh")
async def refresh(request: Request, admin: CurrentAdmin, container: ContainerDep) -> Response:
    try:
        await onboarding.refresh_metadata(container, admin.organisation_id)
        flash(request, "The CRM modules and fields were read again.")
    except onboarding.ZohoUnavailable as exc:
        flash(request, str(exc), "error")
    return RedirectResponse(DETAILS, status_code=303)


@router.post(f"{DETAILS}/policies")
def policies(
    request: Request,
    admin: CurrentAdmin,
    container: ContainerDep,
    conflict: Annotated[str, Form()],
    delete_crm_to_alix: Annotated[str, Form()],
    delete_alix_to_crm: Annotated[str, Form()],
) -> Response:
    try:
        with unit_of_work(container.session_factory) as session:
            service.set_policies(session, admin.organisation_id, conflict, delete_crm_to_alix,
                                 delete_alix_to_crm)
        flash(request, "The synchronization policies are saved.")
    except AlixError as exc:
        flash(request, str(exc), "error")
    return RedirectResponse(DETAILS + "#policies", status_code=303)


# Details without JavaScript: each control of a module or a mapping row also sits in a plain form
# posting here (the page's script saves through the REST API instead). Same service calls, so
# the same rules; POST -> redirect back to the section -> flash.


@router.post(f"{DETAILS}/modules/{{kind}}")
def module_form(
    request: Request,
    kind: ModuleKind,
    admin: CurrentAdmin,
    container: ContainerDep,
    active: Annotated[str | None, Form()] = None,
    crm_module: Annotated[str | None, Form()] = None,
    account_lookup: Annotated[str | None, Form()] = None,
) -> Response:
    changes: dict[str, Any] = {
        key: value or None
        for key, value in (("crm_module", crm_module), ("account_lookup", account_lookup))
        if value is not None
    }
    if active is not None:
        changes["active"] = active == "true"
    label = MODULES[kind].label
    done = (f"{label} is {'active' if changes['active'] else 'inactive'}." if "active" in changes
            else f"The CRM module of {label} is saved.")
    return _save(request, container, f"#module-{kind.value}", done,
                 lambda s: service.update_module(s, admin.organisation_id, kind, changes))


@router.post(f"{DETAILS}/mappers/{{mapper}}/rows")
def add_row_form(
    request: Request, mapper: MapperKind, admin: CurrentAdmin, container: ContainerDep
) -> Response:
    label = MAPPERS[mapper].label
    return _save(request, container, f"#mapper-{mapper.value}",
                 f"An empty row was added to {label}: choose its fields.",
                 lambda s: service.add_row(s, admin.organisation_id, mapper))


@router.post(f"{DETAILS}/mappers/{{mapper}}/rows/{{row_id}}")
def edit_row_form(
    request: Request,
    mapper: MapperKind,
    row_id: int,
    admin: CurrentAdmin,
    container: ContainerDep,
    alix_field: Annotated[str | None, Form()] = None,
    crm_field: Annotated[str | None, Form()] = None,
) -> Response:
    changes = {k: v or None for k, v in (("alix_field", alix_field), ("crm_field", crm_field))
               if v is not None}
    return _save(request, container, f"#mapper-{mapper.value}",
                 f"The mapping is saved in {MAPPERS[mapper].label}.",
                 lambda s: service.edit_row(s, admin.organisation_id, mapper, row_id, changes))


@router.post(f"{DETAILS}/mappers/{{mapper}}/rows/{{row_id}}/delete")
def delete_row_form(
    request: Request, mapper: MapperKind, row_id: int, admin: CurrentAdmin,
    container: ContainerDep,
) -> Response:
    return _save(request, container, f"#mapper-{mapper.value}",
                 f"The mapping was deleted from {MAPPERS[mapper].label}.",
                 lambda s: service.delete_row(s, admin.organisation_id, mapper, row_id))


def _save(
    request: Request,
    container: ContainerDep,
    anchor: str,
    done: str,
    work: Callable[[Session], object],
) -> Response:
    """Run one command in a unit of work; flash its refusal message(s) or `done`. A command
    that starts a job has the next page toast how it ended."""
    try:
        with unit_of_work(container.session_factory) as session:
            result = work(session)
            job_id = result.id if isinstance(result, Job) else None
        if job_id is not None:
            watch_job(request, job_id)
    except ValidationFailed as exc:
        for messages in exc.errors.values():
            for message in messages:
                flash(request, message, "error")
    except AlixError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, done)
    return RedirectResponse(DETAILS + anchor, status_code=303)


@router.post(f"{DETAILS}/sync")
def sync_form(request: Request, admin: CurrentAdmin, container: ContainerDep) -> Response:
    """The cloud icon next to Customers: start the initial synchronization (a job whose
    progress the toast area shows)."""
    return _save(request, container, "", "Initial synchronization started: its progress shows "
                 "at the bottom of the screen.",
                 lambda s: start_for_organisation(s, container.queue, admin.organisation_id,
                                                  initial=True,
                                                  started_by=run_store.person(admin.name,
                                                                             admin.email)))


async def _preflight(container: ContainerDep, found: ZohoConnection,
                     source: tuple[str, str], currencies: list[str]) -> list[preflight.Warning]:
    """What the first sync would reject, asked of Zoho (one COQL call per 2,000 Accounts);
    nothing when Zoho cannot answer now: Details must open regardless."""
    factory = container.zoho.crm_factory

    async def ask() -> list[preflight.Warning]:
        async with factory(found) as crm:
            return await preflight.warnings(crm, source, currencies)

    def in_own_loop() -> list[preflight.Warning]:
        # Its own thread and event loop: the engine's synchronous database calls (and the
        # token store's short transactions) must never block the web's loop, where a request's
        # synchronous database call would then wait for a lock the blocked loop holds.
        try:
            return asyncio.run(ask())
        except ZohoError:
            return []

    with anyio.move_on_after(PREFLIGHT_SECONDS):
        return await anyio.to_thread.run_sync(in_own_loop, abandon_on_cancel=True)
    return []


@dataclass(frozen=True)
class _Read:
    """What Details shows from the database."""

    found: ZohoConnection
    view: Any
    zoho: Any
    reconciliation: str | None
    source: tuple[str, str] | None  # where Accounts keep their currency, before a first sync
    currencies: list[str]


def _read_details(container: ContainerDep, organisation_id: int) -> _Read | None:
    with unit_of_work(container.session_factory) as session:
        found = repository.connection_of(session, organisation_id)
        if found is None or found.status != CONNECTED:
            return None
        view = service.describe(service.snapshot(session, organisation_id))
        first = run_store.latest_run(session, SyncScope(organisation_id, found.id),
                                     kinds=run_store.PULL_KINDS) is None
        org = session.get(Organisation, organisation_id)
        return _Read(found, view, connection_json(found), reconciliation_sentence(session, found),
                     preflight.currency_source(session, found.id) if first else None,
                     list(org.currencies) if org is not None else [])


@router.get(DETAILS, response_class=HTMLResponse, name="zoho_crm_details")
async def details(request: Request, admin: CurrentAdmin, container: ContainerDep) -> Response:
    # The database is read in a worker thread, never on the web's event loop (see _preflight).
    read = await anyio.to_thread.run_sync(_read_details, container, admin.organisation_id)
    if read is None:
        flash(request, "Connect Zoho CRM first.", "info")
        return RedirectResponse(INTEGRATIONS, status_code=303)
    warnings = (await _preflight(container, read.found, read.source, read.currencies)
                if read.source is not None else [])
    # Rendered in a worker thread too: the template reads the sync's status in a transaction of
    # its own (status_pages.sync_summary). On the event loop that transaction waited for the
    # write lock held by another request's session, which could only be closed once the
    # loop sent that request's answer: the page failed with "database is locked" after the
    # busy timeout (tests/browser/test_sync_status.py, under load).
    return await anyio.to_thread.run_sync(render, request, "zoho_crm/details.html", {
        "preflight": warnings,
        "zoho": read.zoho,
        "view": read.view,
        "conflict_labels": CONFLICT_LABELS,
        "delete_labels": DELETE_LABELS,
        "reconciliation": read.reconciliation,
    })
