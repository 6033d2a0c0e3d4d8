"""The open same-field conflicts of a connection as a person decides them: each with its base,
ALIX's and Zoho's values, who changed each and when; and settling one with a typed value.

Keep ALIX's / Keep Zoho's are the engine's keep_side; a typed value is read as the field's
kind reads it (a number, a yes/no, a country...) and written by the engine's resolve_conflict,
Zoho first, then ALIX, in one decision journaled with who made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alix.clock import Clock
from alix.customers.domain import Origin
from alix.customers.fields import Entity
from alix.customers.tables import addresses, contact_persons, customer_outbox, customers
from alix.db.session import unit_of_work
from alix.identity.tables import User

from .sync.engine.context import CrmFactory, open_context
from .sync.engine.pull_issues import CONFLICT
from .sync.engine.resolve import Keep, keep_side, resolve_conflict
from .sync.engine.resolver import RESOLVER
from .sync.kinds import LinkKind
from .sync.mapping import kinds_of
from .sync.normalize import Kind, SyncValue, canonical
from .sync.store.issues import IssueStatus
from .sync.store.scope import SyncScope
from .sync.store.tables import zoho_sync_issues

PAGE_SIZE = 25
KIND_LABELS = {
    LinkKind.CUSTOMER: "Customer", LinkKind.CONTACT: "Contact person",
    LinkKind.MAIN_BILLING: "Main billing address", LinkKind.MAIN_SHIPPING: "Main shipping address",
    LinkKind.BILLING: "Billing address", LinkKind.SHIPPING: "Shipping address",
}


@dataclass(frozen=True)
class Edit:
    """Who last changed the field on one side, and when (ALIX: the outbox; Zoho: the record's
    Modified_By and Modified_Time when the conflict was found)."""

    by: str
    at: datetime


@dataclass(frozen=True)
class ConflictView:
    id: int
    kind: LinkKind
    alix_id: int
    zoho_id: str | None
    field: str
    base: Any
    alix: Any
    crm: Any
    noticed_at: datetime
    customer_id: int | None
    customer_name: str | None
    alix_edit: Edit | None
    zoho_edit: Edit | None = None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def field_label(self) -> str:
        return self.field.replace("_", " ").capitalize()


@dataclass(frozen=True)
class ConflictPage:
    conflicts: list[ConflictView]
    next_cursor: int | None


def _owners(session: Session, org: int, rows: Sequence[Any]) -> dict[int, tuple[int, str]]:
    """Issue id -> (customer id, name) of the record each conflict is about."""
    wanted: dict[Entity, set[int]] = {}
    for r in rows:
        wanted.setdefault(LinkKind(r.kind).entity, set()).add(int(r.alix_id))
    owner: dict[tuple[Entity, int], int] = {
        (Entity.CUSTOMER, i): i for i in wanted.get(Entity.CUSTOMER, ())}
    for entity, table in ((Entity.CONTACT, contact_persons), (Entity.ADDRESS, addresses)):
        if wanted.get(entity):
            for found in session.execute(select(table.c.id, table.c.customer_id).where(
                    table.c.organisation_id == org, table.c.id.in_(sorted(wanted[entity])))):
                owner[(entity, int(found.id))] = int(found.customer_id)
    names = {int(c.id): str(c.name) for c in session.execute(
        select(customers.c.id, customers.c.name).where(
            customers.c.organisation_id == org,
            customers.c.id.in_(sorted(set(owner.values())))))} if owner else {}
    out: dict[int, tuple[int, str]] = {}
    for r in rows:
        cid = owner.get((LinkKind(r.kind).entity, int(r.alix_id)))
        if cid is not None and cid in names:
            out[r.id] = (cid, names[cid])
    return out


def _alix_edit(session: Session, org: int, kind: LinkKind, alix_id: int, field: str
               ) -> Edit | None:
    """The newest change of the field made in ALIX (not by the sync itself)."""
    t = customer_outbox
    for row in session.execute(select(t.c.actor_id, t.c.created_at, t.c.changes).where(
            t.c.organisation_id == org, t.c.entity == kind.entity.value,
            t.c.entity_id == alix_id, t.c.origin != Origin.ZOHO_CRM.value,
    ).order_by(t.c.id.desc()).limit(50)):
        if field in (row.changes or {}):
            user = session.get(User, row.actor_id) if row.actor_id is not None else None
            by = (user.name or user.email) if user is not None else "an API client"
            return Edit(by, row.created_at)
    return None


def _zoho_edit(details: dict[str, Any]) -> Edit | None:
    """Who changed the Zoho record, as the pull that found the conflict read it (conflicts
    found before ALIX asked for Modified_By have none)."""
    by, at = details.get("crm_by"), details.get("crm_at")
    if not by or not at:
        return None
    return Edit(str(by), datetime.fromisoformat(str(at)))


def conflict_page(session: Session, scope: SyncScope, cursor: int | None = None,
                  size: int = PAGE_SIZE) -> ConflictPage:
    """Open conflicts, newest first; `cursor` is the id the next page starts below."""
    t = zoho_sync_issues
    query = select(t).where(t.c.connection_id == scope.connection_id,
                            t.c.status == IssueStatus.OPEN.value, t.c.code == CONFLICT,
                            t.c.alix_id.is_not(None), t.c.field.is_not(None))
    if cursor is not None:
        query = query.where(t.c.id < cursor)
    rows = session.execute(query.order_by(t.c.id.desc()).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    owners = _owners(session, scope.organisation_id, rows)
    views = []
    for r in rows:
        details = dict(r.details or {})
        customer = owners.get(r.id)
        views.append(ConflictView(
            r.id, LinkKind(r.kind), int(r.alix_id), r.zoho_id, str(r.field),
            details.get("base"), details.get("alix"), details.get("crm"), r.created_at,
            customer[0] if customer else None, customer[1] if customer else None,
            _alix_edit(session, scope.organisation_id, LinkKind(r.kind), int(r.alix_id),
                       str(r.field)), _zoho_edit(details)))
    return ConflictPage(views, rows[-1].id if more and rows else None)


async def settle(sessions: sessionmaker[Session], factory: CrmFactory, clock: Clock,
                 connection_id: int, issue_id: int, keep: str, value: str, *, by: str
                 ) -> SyncValue:
    """Settle the conflict as a person chose on a page or through the API: keep "alix" or
    "zoho" (the value that side holds), or "value" (the typed `value`); another `keep` is a
    ValueError. Returns the value written on both sides."""
    if keep == "value":
        return await settle_with_value(sessions, factory, clock, connection_id, issue_id, value,
                                       by=by)
    return await keep_side(sessions, factory, clock, connection_id, issue_id, Keep(keep), by=by)


async def settle_with_value(sessions: sessionmaker[Session], factory: CrmFactory,
                            clock: Clock, connection_id: int, issue_id: int, text: str,
                            *, by: str) -> SyncValue:
    """Settle the conflict with a value a person typed, read as its field's kind reads it
    (empty: no value); returns the value written on both sides."""
    async with open_context(sessions, connection_id, factory, clock, on_lane=True) as ctx:
        with unit_of_work(sessions) as session:
            row = session.execute(select(zoho_sync_issues.c.kind, zoho_sync_issues.c.field)
                                  .where(zoho_sync_issues.c.id == issue_id,
                                         zoho_sync_issues.c.connection_id
                                         == ctx.scope.connection_id)).first()
        kind = (kinds_of(ctx.config, LinkKind(row.kind)).get(str(row.field), Kind.TEXT)
                if row is not None else Kind.TEXT)
        value = canonical(text, kind, resolver=RESOLVER)
        await resolve_conflict(ctx, issue_id, value, by=by)
    return value
