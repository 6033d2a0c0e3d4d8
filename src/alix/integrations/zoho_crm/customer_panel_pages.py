"""The "Zoho CRM" panel of every customer page and its actions: Sync now / Create in Zoho,
Unlink, Link to an Account (POST -> redirect -> flash).

The customer master does not know the integration: the panel is registered with the web
layer's customer panel registry (alix.web.panels), which the customer page's template asks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from alix.bootstrap import Container
from alix.customers import repository as repo
from alix.customers.domain import Actor, Customer, Origin
from alix.db.session import unit_of_work
from alix.errors import AlixError
from alix.web.auth import CurrentAdmin, Principal, csrf_token
from alix.web.dependencies import ContainerDep
from alix.web.panels import register_customer_panel
from alix.web.templating import flash, render, templates

from . import customer_sync, repository
from .offloop import off_loop
from .sync.store.scope import SyncScope
from .tables import CONNECTED, ZohoConnection

router = APIRouter(prefix="/customers/{customer_id}/zoho-crm", include_in_schema=False)

CONFLICTS = "/settings/integrations/zoho-crm/conflicts"


def _live(container: Container, organisation_id: int) -> ZohoConnection | None:
    with unit_of_work(container.session_factory) as session:
        found = repository.connection_of(session, organisation_id)
        if found is None or found.status != CONNECTED:
            return None
        session.expunge(found)
        return found


def customer_panel(request: Request, customer_id: int) -> Markup | None:
    """The panel's HTML for a customer of the caller's organisation; None without a live
    connection (the page then shows no Zoho CRM panel at all)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return None
    container: Container = request.app.state.container
    connection = _live(container, principal.organisation_id)
    if connection is None:
        return None
    scope = SyncScope(principal.organisation_id, connection.id)
    with unit_of_work(container.session_factory) as session:
        facts = customer_sync.customer_sync(session, scope, connection, customer_id)
    html = templates.get_template("zoho_crm/customer_panel.html").render(
        sync=facts, customer_id=customer_id, admin=principal.is_admin,
        csrf_token=csrf_token(request.session), conflicts=CONFLICTS)
    return Markup(html)  # safe: an autoescaping template rendered it


register_customer_panel("zoho_crm", customer_panel)


def _back(customer_id: int) -> RedirectResponse:
    return RedirectResponse(f"/customers/{customer_id}#zoho-crm-panel", status_code=303)


def _actor(admin: Principal) -> Actor:
    return Actor(admin.organisation_id, admin.user_id, Origin.USER)


def _customer_and_connection(container: Container, admin: Principal, customer_id: int
                             ) -> tuple[Customer, ZohoConnection | None]:
    """The customer (404 for another organisation's) and the live connection, read in a
    worker thread (tests/loop_guard.py)."""
    with unit_of_work(container.session_factory) as session:
        customer = repo.get_customer(session, admin.organisation_id, customer_id)
    return customer, _live(container, admin.organisation_id)


async def _act(request: Request, container: Container, admin: Principal, customer_id: int,
               work: Callable[[ZohoConnection], Awaitable[str]]) -> Response:
    _customer, connection = await run_in_threadpool(_customer_and_connection, container, admin,
                                                    customer_id)
    if connection is None:
        flash(request, "Connect Zoho CRM first.", "info")
        return _back(customer_id)
    try:
        done = await off_loop(lambda: work(connection))
    except AlixError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, done)
    return _back(customer_id)


@router.post("/sync")
async def sync_now(request: Request, customer_id: int, admin: CurrentAdmin,
                   container: ContainerDep) -> Response:
    """Sync now (Create in Zoho for a customer without an Account)."""
    async def work(connection: ZohoConnection) -> str:
        await customer_sync.sync_customer(container.session_factory, container.zoho.crm_factory,
                                          container.clock, connection.id, _actor(admin),
                                          customer_id)
        return "Synchronized with Zoho CRM: the panel shows what each side holds now."

    return await _act(request, container, admin, customer_id, work)


@router.post("/unlink")
async def unlink(request: Request, customer_id: int, admin: CurrentAdmin,
                 container: ContainerDep) -> Response:
    async def work(connection: ZohoConnection) -> str:
        with unit_of_work(container.session_factory) as session:
            customer_sync.unlink_customer(session, SyncScope(admin.organisation_id,
                                                             connection.id),
                                          customer_id, container.clock())
        return ("The customer is no longer linked to its Zoho Account; nothing was deleted. "
                "Link it to an Account, or its next change creates a new one in Zoho.")

    return await _act(request, container, admin, customer_id, work)


@router.get("/link")
async def link_page(request: Request, customer_id: int, admin: CurrentAdmin,
                    container: ContainerDep, q: str = "") -> Response:
    """Search Zoho's Accounts by name (or id) to link the customer to one."""
    customer, connection = await run_in_threadpool(_customer_and_connection, container, admin,
                                                   customer_id)
    if connection is None:
        flash(request, "Connect Zoho CRM first.", "info")
        return _back(customer_id)
    query = q or customer.name
    error = None
    connection_id = connection.id
    try:
        matches = await off_loop(lambda: customer_sync.search_accounts(
            container.session_factory, container.zoho.crm_factory, container.clock,
            connection_id, query))
    except AlixError as exc:
        matches, error = [], str(exc)
    return await run_in_threadpool(render, request, "zoho_crm/customer_link.html", {
        "customer": customer, "q": query, "matches": matches, "error": error,
    })


@router.post("/link")
async def link(request: Request, customer_id: int, zoho_id: Annotated[str, Form()],
               admin: CurrentAdmin, container: ContainerDep) -> Response:
    async def work(connection: ZohoConnection) -> str:
        await customer_sync.link_customer(container.session_factory, container.zoho.crm_factory,
                                          container.clock, connection.id, _actor(admin),
                                          customer_id, zoho_id.strip())
        return (f"Linked to Zoho Account {zoho_id.strip()} and synchronized; fields the two "
                "held differently follow the conflict policy.")

    return await _act(request, container, admin, customer_id, work)
