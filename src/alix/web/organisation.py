"""Settings -> Organisation: the organisation's currencies, which an administrator extends.

Adding a currency is also the fix of the sync's most common cause (records in a currency the
organisation lacks): the records waiting on it are retried at once, here in the web layer,
since identity knows nothing of integrations.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from alix.db.session import unit_of_work
from alix.errors import ValidationFailed
from alix.identity.service import add_currency
from alix.identity.tables import Organisation
from alix.integrations.zoho_crm.status_causes import retry_currency
from alix.integrations.zoho_crm.sync.store.runs import person
from alix.web.auth import CurrentAdmin
from alix.web.dependencies import ContainerDep
from alix.web.templating import flash, render

router = APIRouter(include_in_schema=False)

ORGANISATION = "/settings/organisation"


@router.get(ORGANISATION, response_class=HTMLResponse, name="organisation")
def organisation(request: Request, admin: CurrentAdmin, container: ContainerDep) -> Response:
    with unit_of_work(container.session_factory) as session:
        org = session.get(Organisation, admin.organisation_id)
        assert org is not None  # a principal's organisation exists (foreign key)
        view = {"name": org.name, "currencies": list(org.currencies),
                "home": org.home_currency}
    return render(request, "organisation/organisation.html", {"organisation": view})


def added_sentence(code: str, retried: int) -> str:
    if not retried:
        return f"{code} is one of your currencies now."
    records = "1 record waiting on it is" if retried == 1 else \
        f"{retried} records waiting on it are"
    return (f"{code} is one of your currencies now: {records} retried now by the Zoho CRM "
            "synchronization.")


@router.post(f"{ORGANISATION}/currencies")
def add(request: Request, admin: CurrentAdmin, container: ContainerDep,
        code: Annotated[str, Form()] = "") -> Response:
    try:
        with unit_of_work(container.session_factory) as session:
            added = add_currency(session, admin.organisation_id, code)
            outcome = retry_currency(session, container.queue, admin.organisation_id, added,
                                     container.clock(), person(admin.name, admin.email))
    except ValidationFailed as exc:
        for messages in exc.errors.values():
            for message in messages:
                flash(request, message, "error")
        return RedirectResponse(ORGANISATION + "#currencies", status_code=303)
    flash(request, added_sentence(added, outcome.retried))
    return RedirectResponse(ORGANISATION + "#currencies", status_code=303)
