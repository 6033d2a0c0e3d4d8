"""The customer list's "Zoho CRM" column and its filter: each customer's sync state (the
panel's, customer_sync.state_of), and "not synced" / "with errors".

The customer master does not know the integration: this column is registered with the
customer list's registry (alix.customers.list_columns) when the integration's routes are
loaded. A page's states are read in one query, its filter is a condition on the list's own
query, so it combines with search, the status filter and the page cursor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, not_, or_, select
from sqlalchemy.orm import Session

from alix.customers import outbox
from alix.customers.fields import Entity
from alix.customers.list_columns import Cell, ListColumn, register_list_column
from alix.customers.tables import addresses, contact_persons, customer_outbox, customers

from . import repository
from .customer_sync import STATE_LABELS, state_of
from .sync.engine.pull_issues import CONFLICT
from .sync.kinds import LinkKind
from .sync.store.issues import IssueStatus
from .sync.store.tables import zoho_links, zoho_sync_issues
from .tables import CONNECTED

KEY = "sync"
NOT_SYNCED = "not_synced"
ERRORS = "errors"
CHOICES = (("all", "Any sync state"), (NOT_SYNCED, "Not synced"),
           (ERRORS, "With sync errors"))
TONES = {"in_sync": "ok", "not_linked": "off", "pending": "off", "conflict": "warn",
         "error": "err", "deleted": "err"}
_ADDRESS_KINDS = [k.value for k in LinkKind if k.entity is Entity.ADDRESS]


def _issue_of_customer(connection_id: int, organisation_id: int, conflict: bool) -> Any:
    """EXISTS an open issue (a conflict only, with `conflict`) of the customer row of the
    enclosing query, of one of its contact persons or of one of its addresses."""
    t = zoho_sync_issues
    owner = customers.c.id
    people = select(contact_persons.c.id).where(
        contact_persons.c.organisation_id == organisation_id,
        contact_persons.c.customer_id == owner).correlate(customers)
    places = select(addresses.c.id).where(
        addresses.c.organisation_id == organisation_id,
        addresses.c.customer_id == owner).correlate(customers)
    found = select(t.c.id).where(
        t.c.connection_id == connection_id, t.c.status == IssueStatus.OPEN.value,
        or_(and_(t.c.kind == LinkKind.CUSTOMER.value, t.c.alix_id == owner),
            and_(t.c.kind == LinkKind.CONTACT.value, t.c.alix_id.in_(people)),
            and_(t.c.kind.in_(_ADDRESS_KINDS), t.c.alix_id.in_(places))))
    if conflict:
        found = found.where(t.c.code == CONFLICT)
    return exists(found.correlate(customers))


def _pending_of_customer(organisation_id: int) -> Any:
    o = customer_outbox
    return exists(select(o.c.id).where(
        o.c.organisation_id == organisation_id, o.c.customer_id == customers.c.id,
        o.c.status == outbox.PENDING).correlate(customers))


def _linked(connection_id: int, tombstoned: bool) -> Any:
    link = zoho_links
    return exists(select(link.c.id).where(
        link.c.connection_id == connection_id, link.c.kind == LinkKind.CUSTOMER.value,
        link.c.alix_id == customers.c.id, link.c.zoho_id.is_not(None),
        link.c.tombstoned_at.is_not(None) if tombstoned else link.c.tombstoned_at.is_(None),
    ).correlate(customers))


@dataclass(frozen=True)
class SyncColumn:
    """The column bound to one organisation's live connection."""

    session: Session
    organisation_id: int
    connection_id: int

    def condition(self, choice: str) -> Any | None:
        org, conn = self.organisation_id, self.connection_id
        has_issue = _issue_of_customer(conn, org, conflict=False)
        if choice == ERRORS:
            return has_issue
        if choice == NOT_SYNCED:  # everything the panel would not call "In sync"
            return not_(and_(_linked(conn, tombstoned=False), not_(has_issue),
                             not_(_pending_of_customer(org))))
        return None

    def cells(self, customer_ids: Sequence[int]) -> Mapping[int, Cell]:
        """The states of a page of customers, in one query."""
        if not customer_ids:
            return {}
        org, conn = self.organisation_id, self.connection_id
        rows = self.session.execute(select(
            customers.c.id,
            _linked(conn, tombstoned=False).label("live"),
            _linked(conn, tombstoned=True).label("deleted"),
            _issue_of_customer(conn, org, conflict=True).label("conflict"),
            _issue_of_customer(conn, org, conflict=False).label("issue"),
            _pending_of_customer(org).label("pending"),
        ).where(customers.c.organisation_id == org, customers.c.id.in_(list(customer_ids))))
        found = {}
        for row in rows:
            state = state_of(linked=bool(row.live or row.deleted), deleted=bool(row.deleted),
                             conflict=bool(row.conflict), issue=bool(row.issue),
                             pending=bool(row.pending))
            found[int(row.id)] = Cell(state, STATE_LABELS[state], TONES[state])
        return found


def bind(session: Session, organisation_id: int) -> SyncColumn | None:
    """The column for the organisation; None (no column, no filter) without a live
    connection to Zoho CRM."""
    connection = repository.connection_of(session, organisation_id)
    if connection is None or connection.status != CONNECTED:
        return None
    return SyncColumn(session, organisation_id, connection.id)


COLUMN = ListColumn(KEY, "Zoho CRM", CHOICES, bind)


def install() -> None:
    """Add the column to the customer list (alix.integrations.zoho_crm.routes calls it)."""
    register_list_column(COLUMN)
