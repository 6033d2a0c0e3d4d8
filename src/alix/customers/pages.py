"""Pages of Sales -> Customers: the list with bulk actions, the detail page, the customer form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from alix.customers import geography, list_columns, service
from alix.customers import repository as repo
from alix.customers.domain import Actor, NewCustomer, Origin
from alix.customers.fields import Entity
from alix.customers.forms import form_fields, read_form
from alix.db.session import unit_of_work
from alix.errors import Conflict, ValidationFailed
from alix.web.auth import CurrentPrincipal, Principal
from alix.web.dependencies import ContainerDep, SessionDep
from alix.web.templating import flash, render

router = APIRouter(prefix="/customers", include_in_schema=False)

STATUS_FILTERS = {"all": None, "active": True, "inactive": False}


def actor_of(principal: Principal) -> Actor:
    """People using the pages act as themselves, with origin `user`."""
    return Actor(principal.organisation_id, principal.user_id, Origin.USER)


def see_other(url: str) -> RedirectResponse:
    """The redirect after a POST (303), so a reload does not post again."""
    return RedirectResponse(url, status_code=303)


@router.get("", name="customers")
def customer_list(
    request: Request, principal: CurrentPrincipal, session: SessionDep,
    q: str = "", status: str = "all", cursor: str | None = None,
) -> Response:
    """The customer list with search, status filter, other features' columns and filters
    (customers.list_columns) and a page cursor."""
    org = principal.organisation_id
    status = status if status in STATUS_FILTERS else "all"
    columns = list_columns.bind_columns(session, org, request.query_params)
    query = repo.CustomerQuery(q, STATUS_FILTERS[status], cursor or None, 50,
                               list_columns.conditions(columns))
    page = repo.list_customers(session, org, query)
    ids = [c.id for c in page.items]
    counts = repo.counts_of(session, org, ids)
    filters = {"q": q, "status": status, **{b.column.key: b.choice for b in columns}}
    return render(request, "customers/list.html", {
        "customers": page.items, "next_cursor": page.next_cursor, "q": q, "status": status,
        "counts": counts, "paged": bool(cursor), "filters": filters,
        "filtered": bool(q) or any(v != "all" for k, v in filters.items() if k != "q"),
        "columns": [(b, b.bound.cells(ids)) for b in columns],
    })


@router.post("/bulk")
async def bulk(request: Request, principal: CurrentPrincipal, container: ContainerDep
               ) -> Response:
    """Mark the ticked customers as active or inactive, in one transaction."""
    form = await request.form()

    def answer() -> Response:  # in a worker thread: tests/loop_guard.py
        ids = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()]
        action = form.get("action")
        back = str(form.get("back") or "/customers")
        if not back.startswith("/customers"):
            back = "/customers"
        if not ids or action not in ("activate", "deactivate"):
            flash(request, "Tick at least one customer first.", "warning")
            return see_other(back)
        with unit_of_work(container.session_factory) as session:
            changed = service.set_active(session, actor_of(principal), ids, action == "activate")
        word = "active" if action == "activate" else "inactive"
        flash(request, f"{changed} customer{'s' if changed != 1 else ''} marked as {word}.")
        return see_other(back)

    return await run_in_threadpool(answer)


def _customer_form(request: Request, session: Any, principal: Principal, values: dict[str, Any],
                   errors: dict[str, list[str]], customer: Any = None,
                   status_code: int = 200) -> Response:
    currencies = service.currencies_of(session, principal.organisation_id)
    if not values.get("currency"):
        values["currency"] = currencies[0]
    return render(request, "customers/form.html", {
        "customer": customer,
        "fields": form_fields(Entity.CUSTOMER, values, errors, currencies=currencies),
        "banner": errors.get("", []),
        "version": values.get("version", customer.version if customer else None),
    }, status_code=status_code)


@router.get("/new", name="customer_new")
def new_customer(request: Request, principal: CurrentPrincipal, session: SessionDep
                 ) -> Response:
    """The empty customer form."""
    return _customer_form(request, session, principal, {"is_active": True}, {})


@router.post("/new")
async def create_customer(request: Request, principal: CurrentPrincipal,
                          container: ContainerDep) -> Response:
    """Create the customer; the form comes back with inline errors when refused."""
    raw = read_form(Entity.CUSTOMER, await request.form())

    def answer() -> Response:  # in a worker thread: tests/loop_guard.py
        try:
            with unit_of_work(container.session_factory) as session:
                customer = service.create_customer(session, actor_of(principal),
                                                   NewCustomer(raw))
        except ValidationFailed as exc:
            with container.session_factory() as session:
                return _customer_form(request, session, principal, raw, exc.errors,
                                      status_code=422)
        flash(request, f"Customer {customer.name} created.")
        return see_other(f"/customers/{customer.id}")

    return await run_in_threadpool(answer)


@router.get("/{customer_id}", name="customer")
def customer_detail(request: Request, customer_id: int, principal: CurrentPrincipal,
                    session: SessionDep) -> Response:
    """A customer with its contact persons and addresses."""
    org = principal.organisation_id
    customer = repo.get_customer(session, org, customer_id)
    places = repo.addresses_of(session, org, customer_id)
    people = repo.contacts_of(session, org, customer_id)
    # End this read before rendering: the panels of other features (alix.web.panels) read in
    # their own transactions, which SQLite's BEGIN IMMEDIATE would make wait on this one.
    session.rollback()
    return render(request, "customers/detail.html", {
        "customer": customer,
        "contacts": people,
        "addresses": places,
        "kinds": (("billing", "Billing addresses"), ("shipping", "Shipping addresses")),
        "country_name": geography.country_name,
        "province_name": geography.province_name,
    })


@router.get("/{customer_id}/edit", name="customer_edit")
def edit_customer(request: Request, customer_id: int, principal: CurrentPrincipal,
                  session: SessionDep) -> Response:
    """The customer form, filled in."""
    customer = repo.get_customer(session, principal.organisation_id, customer_id)
    return _customer_form(request, session, principal, customer.values(), {}, customer)


@router.post("/{customer_id}/edit")
async def update_customer(request: Request, customer_id: int, principal: CurrentPrincipal,
                          container: ContainerDep) -> Response:
    """Save the form; a change made meanwhile shows as a banner, not lost."""
    form = await request.form()
    raw = read_form(Entity.CUSTOMER, form)
    version = str(form.get("version", ""))

    def answer() -> Response:  # in a worker thread: tests/loop_guard.py
        try:
            with unit_of_work(container.session_factory) as session:
                customer = service.update_customer(
                    session, actor_of(principal), customer_id, raw,
                    expected_version=int(version) if version.isdigit() else None,
                )
        except (ValidationFailed, Conflict) as exc:
            errors = exc.errors if isinstance(exc, ValidationFailed) else {"": [str(exc)]}
            with container.session_factory() as session:
                current = repo.get_customer(session, principal.organisation_id, customer_id)
                return _customer_form(request, session, principal, {**raw, "version": version},
                                      errors, current, status_code=422)
        flash(request, f"Customer {customer.name} saved.")
        return see_other(f"/customers/{customer.id}")

    return await run_in_threadpool(answer)


@router.post("/{customer_id}/active")
async def set_active(request: Request, customer_id: int, principal: CurrentPrincipal,
                     container: ContainerDep) -> Response:
    """Mark the customer as active or inactive."""
    active = (await request.form()).get("active") == "true"

    def answer() -> Response:  # in a worker thread: tests/loop_guard.py
        with unit_of_work(container.session_factory) as session:
            service.set_active(session, actor_of(principal), [customer_id], active)
            name = repo.get_customer(session, principal.organisation_id, customer_id).name
        flash(request, f"{name} is now {'active' if active else 'inactive'}.")
        return see_other(f"/customers/{customer_id}")

    return await run_in_threadpool(answer)


@router.post("/{customer_id}/delete")
def delete_customer(request: Request, customer_id: int, principal: CurrentPrincipal,
                    container: ContainerDep) -> Response:
    """Delete the customer with its contact persons and addresses."""
    with unit_of_work(container.session_factory) as session:
        name = repo.get_customer(session, principal.organisation_id, customer_id).name
        service.delete_customer(session, actor_of(principal), customer_id)
    flash(request, f"Customer {name} deleted.")
    return see_other("/customers")
