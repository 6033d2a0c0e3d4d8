"""REST API of what a person decides about the sync: a customer's pairing and its actions,
the open conflicts, and the preview of the first sync with its ambiguous names
(administrators; every list and action is scoped to the caller's organisation)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query

from alix.bootstrap import Container
from alix.customers.domain import Actor, Origin
from alix.db.session import unit_of_work
from alix.errors import NotFound
from alix.web.auth import CurrentAdmin, Principal
from alix.web.dependencies import ContainerDep
from alix.web.ids import IdPath

from . import conflicts, customer_sync, preview, repository
from .offloop import off_loop
from .sync.engine.context import open_context
from .sync.normalize import SyncValue
from .sync.store.scope import SyncScope
from .tables import CONNECTED, ZohoConnection

router = APIRouter(prefix="/api/v1/integrations/zoho-crm", tags=["zoho-crm"])

# The async operations run the sync engine, whose database calls are synchronous: off the
# web's loop (offloop.py, tests/loop_guard.py), their connection lookup included.


def _connection(container: Container, organisation_id: int) -> ZohoConnection:
    with unit_of_work(container.session_factory) as session:
        found = repository.connection_of(session, organisation_id)
        if found is None or found.status != CONNECTED:
            # 404 as every operation on the organisation's connection answers while there is
            # none (alix.web.api_schema).
            raise NotFound("Zoho CRM is not connected for this organisation.")
        session.expunge(found)
        return found


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _customer_json(container: Container, admin: Principal, customer_id: int) -> dict[str, Any]:
    connection = _connection(container, admin.organisation_id)
    with unit_of_work(container.session_factory) as session:
        facts = customer_sync.customer_sync(
            session, SyncScope(admin.organisation_id, connection.id), connection, customer_id)
    return {
        "customer_id": customer_id, "state": facts.state, "zoho_id": facts.zoho_id,
        "zoho_url": facts.zoho_url, "pending_changes": facts.pending_changes,
        "last_synced": facts.last_synced.isoformat() if facts.last_synced else None,
        "issues": [{"id": i.id, "code": i.code, "kind": i.kind.value, "alix_id": i.alix_id,
                    "field": i.field, "message": i.message, "details": i.details}
                   for i in facts.issues],
    }


@router.get("/customers/{customer_id}")
def customer(customer_id: IdPath, admin: CurrentAdmin, container: ContainerDep
             ) -> dict[str, Any]:
    """The customer's pairing: state, Zoho Account, last synced, open issues."""
    return _customer_json(container, admin, customer_id)


def _actor(admin: Principal) -> Actor:
    return Actor(admin.organisation_id, admin.user_id, Origin.USER)


@router.post("/customers/{customer_id}/sync")
async def sync_customer(customer_id: IdPath, admin: CurrentAdmin, container: ContainerDep
                        ) -> dict[str, Any]:
    """Sync now: pull its Account, push the customer (creating the Account if it has none)."""
    async def work() -> dict[str, Any]:
        connection = _connection(container, admin.organisation_id)
        await customer_sync.sync_customer(container.session_factory, container.zoho.crm_factory,
                                          container.clock, connection.id, _actor(admin),
                                          customer_id)
        return _customer_json(container, admin, customer_id)

    return await off_loop(work)


@router.post("/customers/{customer_id}/unlink")
def unlink_customer(customer_id: IdPath, admin: CurrentAdmin, container: ContainerDep
                    ) -> dict[str, Any]:
    """Forget the customer's pairs (nothing is deleted on either side)."""
    connection = _connection(container, admin.organisation_id)
    with unit_of_work(container.session_factory) as session:
        customer_sync.unlink_customer(session, SyncScope(admin.organisation_id, connection.id),
                                      customer_id, container.clock())
    return _customer_json(container, admin, customer_id)


@router.post("/customers/{customer_id}/link")
async def link_customer(customer_id: IdPath, zoho_id: Annotated[str, Body(embed=True)],
                        admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """Pair the customer with a Zoho Account, then merge and push them (409 when either side
    is paired already)."""
    async def work() -> dict[str, Any]:
        connection = _connection(container, admin.organisation_id)
        await customer_sync.link_customer(container.session_factory, container.zoho.crm_factory,
                                          container.clock, connection.id, _actor(admin),
                                          customer_id, zoho_id.strip())
        return _customer_json(container, admin, customer_id)

    return await off_loop(work)


@router.get("/accounts")
async def accounts(q: str, admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """Zoho Accounts whose name starts with `q` (or whose id it is), to link a customer to."""
    async def work() -> list[customer_sync.AccountMatch]:
        connection = _connection(container, admin.organisation_id)
        return await customer_sync.search_accounts(container.session_factory,
                                                   container.zoho.crm_factory, container.clock,
                                                   connection.id, q)

    found = await off_loop(work)
    return {"accounts": [{"zoho_id": a.zoho_id, "name": a.name, "linked_to": a.linked_to}
                         for a in found]}


@router.get("/conflicts")
def conflict_list(admin: CurrentAdmin, container: ContainerDep,
                  cursor: Annotated[int | None, Query(ge=1)] = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = conflicts.PAGE_SIZE
                  ) -> dict[str, Any]:
    """Open conflicts, newest first; pass `next_cursor` back as `cursor` for the next page."""
    connection = _connection(container, admin.organisation_id)
    with unit_of_work(container.session_factory) as session:
        page = conflicts.conflict_page(session, SyncScope(admin.organisation_id, connection.id),
                                       cursor, limit)
    return {"conflicts": [{
        "id": c.id, "kind": c.kind.value, "alix_id": c.alix_id, "zoho_id": c.zoho_id,
        "field": c.field, "base": c.base, "alix": c.alix, "crm": c.crm,
        "noticed_at": c.noticed_at.isoformat(), "customer_id": c.customer_id,
        "alix_changed_by": c.alix_edit.by if c.alix_edit else None,
        "alix_changed_at": c.alix_edit.at.isoformat() if c.alix_edit else None,
        "zoho_changed_by": c.zoho_edit.by if c.zoho_edit else None,
        "zoho_changed_at": c.zoho_edit.at.isoformat() if c.zoho_edit else None,
    } for c in page.conflicts], "next_cursor": page.next_cursor}


@router.post("/conflicts/{issue_id}/resolve")
async def resolve(issue_id: IdPath,
                  keep: Annotated[Literal["alix", "zoho", "value"], Body(embed=True)],
                  admin: CurrentAdmin, container: ContainerDep,
                  value: Annotated[str | None, Body(embed=True)] = None) -> dict[str, Any]:
    """Settle with one side's value (keep "alix" or "zoho") or with `value` (keep "value");
    written to both sides at once; 404 when the conflict is not open here."""
    by = admin.name or admin.email

    async def work() -> SyncValue:
        connection = _connection(container, admin.organisation_id)
        return await conflicts.settle(container.session_factory, container.zoho.crm_factory,
                                      container.clock, connection.id, issue_id, keep,
                                      value or "", by=by)

    written = await off_loop(work)
    return {"id": issue_id, "status": "resolved", "value": _json(written)}


@router.get("/preview")
async def first_sync_preview(admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """What the first sync would do with what Zoho holds now; writes nothing."""
    async def work() -> preview.Preview:
        connection = _connection(container, admin.organisation_id)
        async with open_context(container.session_factory, connection.id,
                                container.zoho.crm_factory, container.clock) as ctx:
            return await preview.preview_first_sync(ctx)

    shown = await off_loop(work)
    return {
        "counts": [{"module": m, "action": a, "count": n}
                   for (m, a), n in sorted(shown.counts.items())],
        "examples": [{"module": m, "action": a, "zoho_id": e.zoho_id, "name": e.name,
                      "reason": e.reason}
                     for (m, a), found in sorted(shown.examples.items()) for e in found],
        "ambiguous": [{"zoho_id": a.zoho_id, "name": a.name,
                       "candidates": [{"customer_id": c, "name": n} for c, n in a.candidates]}
                      for a in shown.ambiguous],
    }


@router.post("/preview/ambiguous/{zoho_id}")
async def choose(zoho_id: str, choice: Annotated[str, Body(embed=True)],
                 admin: CurrentAdmin, container: ContainerDep) -> dict[str, Any]:
    """Link an ambiguous Account to the chosen customer (its id) or to a new one ("new")."""
    async def work() -> str:
        connection = _connection(container, admin.organisation_id)
        async with open_context(container.session_factory, connection.id,
                                container.zoho.crm_factory, container.clock,
                                on_lane=True) as ctx:
            return await preview.choose(ctx, zoho_id, choice.strip())

    linked = await off_loop(work)
    return {"zoho_id": zoho_id, "linked_to": linked}
