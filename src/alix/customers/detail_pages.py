"""Pages that add, edit and remove a customer's contact persons and addresses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from alix.customers import addresses, contacts, geography
from alix.customers import repository as repo
from alix.customers.fields import Entity
from alix.customers.forms import for_editing, form_fields, read_form
from alix.customers.pages import actor_of, see_other
from alix.db.session import unit_of_work
from alix.errors import Conflict, ValidationFailed
from alix.web.auth import CurrentPrincipal
from alix.web.dependencies import ContainerDep, SessionDep
from alix.web.templating import flash, render

router = APIRouter(prefix="/customers/{customer_id}", include_in_schema=False)

_NOUN = {Entity.CONTACT: "contact person", Entity.ADDRESS: "address"}
_PATH = {Entity.CONTACT: "contacts", Entity.ADDRESS: "addresses"}


def _form(request: Request, entity: Entity, customer: Any, values: dict[str, Any],
          errors: dict[str, list[str]], row: Any = None, status_code: int = 200) -> Response:
    return render(request, "customers/part_form.html", {
        "customer": customer, "row": row, "noun": _NOUN[entity],
        "action": f"/customers/{customer.id}/{_PATH[entity]}/"
                  + (f"{row.id}/edit" if row else "new"),
        "fields": form_fields(entity, values, errors),
        "banner": errors.get("", []),
        "version": row.version if row else None,
        "countries": geography.country_choices() if entity is Entity.ADDRESS else (),
    }, status_code=status_code)


def _new_page(entity: Entity) -> Callable[..., Response]:
    def page(request: Request, customer_id: int, principal: CurrentPrincipal,
             session: SessionDep, kind: str = "billing") -> Response:
        customer = repo.get_customer(session, principal.organisation_id, customer_id)
        values: dict[str, Any] = {}
        if entity is Entity.ADDRESS:
            kind = kind if kind in ("billing", "shipping") else "billing"
            has_main = any(a.is_main and a.kind == kind
                           for a in repo.addresses_of(session, customer.organisation_id,
                                                      customer.id))
            values = {"kind": kind, "is_main": not has_main}
        elif not repo.contacts_of(session, customer.organisation_id, customer.id):
            values = {"is_primary": True}
        return _form(request, entity, customer, values, {})
    return page


def _edit_page(entity: Entity) -> Callable[..., Response]:
    def page(request: Request, customer_id: int, row_id: int, principal: CurrentPrincipal,
             session: SessionDep) -> Response:
        customer = repo.get_customer(session, principal.organisation_id, customer_id)
        row = repo.child_of(session, entity, customer.organisation_id, customer_id, row_id)
        return _form(request, entity, customer, for_editing(row.values()), {}, row)
    return page


def _save(entity: Entity, editing: bool) -> Callable[..., Any]:
    async def save(request: Request, customer_id: int, principal: CurrentPrincipal,
                   container: ContainerDep, row_id: int | None = None) -> Response:
        form = await request.form()
        raw = read_form(entity, form)
        version = str(form.get("version", ""))
        expected = int(version) if version.isdigit() else None
        actor = actor_of(principal)

        def answer() -> Response:  # in a worker thread: tests/loop_guard.py
            try:
                with unit_of_work(container.session_factory) as session:
                    if row_id is not None:
                        repo.child_of(session, entity, actor.organisation_id, customer_id, row_id)
                    if entity is Entity.CONTACT and row_id is None:
                        contacts.add_contact(session, actor, customer_id, raw)
                    elif entity is Entity.CONTACT and row_id is not None:
                        contacts.update_contact(session, actor, row_id, raw,
                                                expected_version=expected)
                    elif row_id is None:
                        addresses.add_address(session, actor, customer_id, raw, replace_main=True)
                    else:
                        addresses.update_address(session, actor, row_id, raw, replace_main=True,
                                                 expected_version=expected)
            except (ValidationFailed, Conflict) as exc:
                errors = exc.errors if isinstance(exc, ValidationFailed) else {"": [str(exc)]}
                with container.session_factory() as session:
                    customer = repo.get_customer(session, actor.organisation_id, customer_id)
                    row = (repo.child_of(session, entity, actor.organisation_id, customer_id,
                                         row_id) if row_id is not None else None)
                return _form(request, entity, customer, raw, errors, row, status_code=422)
            flash(request, f"The {_NOUN[entity]} was {'saved' if editing else 'added'}.")
            return see_other(f"/customers/{customer_id}")

        return await run_in_threadpool(answer)
    return save


def _remove(entity: Entity) -> Callable[..., Response]:
    def remove(request: Request, customer_id: int, row_id: int, principal: CurrentPrincipal,
               container: ContainerDep) -> Response:
        actor = actor_of(principal)
        with unit_of_work(container.session_factory) as session:
            repo.child_of(session, entity, actor.organisation_id, customer_id, row_id)
            if entity is Entity.CONTACT:
                contacts.remove_contact(session, actor, row_id)
            else:
                addresses.remove_address(session, actor, row_id)
        flash(request, f"The {_NOUN[entity]} was removed.")
        return see_other(f"/customers/{customer_id}")
    return remove


for _entity in (Entity.CONTACT, Entity.ADDRESS):
    _base = f"/{_PATH[_entity]}"
    router.add_api_route(f"{_base}/new", _new_page(_entity), methods=["GET"])
    router.add_api_route(f"{_base}/new", _save(_entity, False), methods=["POST"])
    router.add_api_route(f"{_base}/{{row_id}}/edit", _edit_page(_entity), methods=["GET"])
    router.add_api_route(f"{_base}/{{row_id}}/edit", _save(_entity, True), methods=["POST"])
    router.add_api_route(f"{_base}/{{row_id}}/delete", _remove(_entity), methods=["POST"])


@router.post("/addresses/{row_id}/main")
def make_main(request: Request, customer_id: int, row_id: int, principal: CurrentPrincipal,
              container: ContainerDep) -> Response:
    """Make the address the main one of its kind."""
    actor = actor_of(principal)
    with unit_of_work(container.session_factory) as session:
        address = repo.child_of(session, Entity.ADDRESS, actor.organisation_id, customer_id, row_id)
        addresses.set_main_address(session, actor, address.id)
    flash(request, f"That is now the main {address.kind} address.")
    return see_other(f"/customers/{customer_id}")
