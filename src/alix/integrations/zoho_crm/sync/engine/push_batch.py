"""One page of push work read from the database: pending outbox records, their state, links.

Three queries for the ALIX side (one per entity with pending rows), one for the links of every
record and of their customers, one for the creates still in flight when a record of the page
has no link. The result is what the pure `push_plan.plan_push` decides on.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from alix.customers import outbox
from alix.customers.domain import Operation
from alix.customers.fields import Entity
from alix.customers.outbox import PendingRecord
from alix.integrations.zoho_crm.sync.kinds import ACCOUNT, LinkKind, address_link_kinds
from alix.integrations.zoho_crm.sync.link import Link
from alix.integrations.zoho_crm.sync.mapping import AlixMapper, alix_mapper
from alix.integrations.zoho_crm.sync.push_plan import PushItem
from alix.integrations.zoho_crm.sync.sources import Configuration
from alix.integrations.zoho_crm.sync.store.links import links_by_alix_ids, pending_inserts
from alix.integrations.zoho_crm.sync.store.scope import SyncScope

from .alix_rows import RecordKey, stored_values
from .main_moves import follow_main_moves
from .resolver import RESOLVER

_ADDRESS_KINDS = (LinkKind.MAIN_BILLING, LinkKind.BILLING, LinkKind.MAIN_SHIPPING,
                  LinkKind.SHIPPING)


@dataclass(frozen=True)
class Batch:
    """A page of pending ALIX records and everything the plan needs about them."""

    records: tuple[PendingRecord, ...]
    items: tuple[PushItem, ...]
    versions: Mapping[RecordKey, int]  # ALIX version of each record read now
    links: Mapping[tuple[LinkKind, int], Link]
    in_flight: frozenset[tuple[LinkKind, int]] = field(default_factory=frozenset)
    retried: frozenset[tuple[int, ...]] = field(default_factory=frozenset)  # failed before
    more: bool = False  # more records are due behind this page
    repointed: bool = False  # main-address links were moved to other addresses on reading it

    @property
    def accounts(self) -> dict[int, str]:
        """ALIX customer id -> Zoho Account id, for the customers linked and not tombstoned."""
        return {alix_id: link.zoho_id for (kind, alix_id), link in self.links.items()
                if kind is LinkKind.CUSTOMER and not link.tombstoned}


def _kinds(record: PendingRecord, values: Mapping[str, Any] | None) -> tuple[LinkKind, ...]:
    if record.entity is Entity.CUSTOMER:
        return (LinkKind.CUSTOMER,)
    if record.entity is Entity.CONTACT:
        return (LinkKind.CONTACT,)
    if values is None:  # a deleted address: whichever kinds it was linked as
        return _ADDRESS_KINDS
    return address_link_kinds(values["kind"], values["is_main"])


def _with_accounts(items: Sequence[PushItem], links: Mapping[tuple[LinkKind, int], Link]
                   ) -> list[PushItem]:
    """A contact's Account (kinds.ACCOUNT) is one of its synced values: its customer's."""
    out = []
    for item in items:
        if item.kind is LinkKind.CONTACT and item.values is not None:
            link = links.get((LinkKind.CUSTOMER, item.customer_id))
            account = None if link is None or link.tombstoned else link.zoho_id
            item = replace(item, values={**item.values, ACCOUNT: account})
        out.append(item)
    return out


def _in_flight(session: Session, scope: SyncScope, items: Sequence[PushItem],
               links: Mapping[tuple[LinkKind, int], Link]) -> frozenset[tuple[LinkKind, int]]:
    """The creates in flight, where the page has a record without a link: a linked record
    has no pending marker (the marker is its link's row, before Zoho's id), so a page of
    updates, the common page, needs no query for them."""
    if all((i.kind, i.alix_id) in links for i in items):
        return frozenset()
    return frozenset((p.kind, p.alix_id) for p in pending_inserts(session, scope))


def load_batch(
    session: Session, scope: SyncScope, config: Configuration, now: datetime, *, limit: int = 100,
    exclude: Collection[RecordKey] = (),
) -> Batch:
    """Up to `limit` pending records (coalesced, due by `now`) with their state and links,
    none of `exclude` (the page being sent while this one is read).

    A record gone from ALIX, or whose last row deletes it, becomes an item without values.
    One record more is read than the page holds, so a full last page is known to be the last
    without a query for an empty next one.
    """
    due = outbox.pending_records(session, scope.organisation_id, now, limit=limit + 1,
                                 exclude=exclude)
    records = tuple(due[:limit])
    current = stored_values(session, scope.organisation_id,
                            ((r.entity, r.entity_id) for r in records))
    items: list[PushItem] = []
    mappers: dict[LinkKind, AlixMapper] = {}  # compiled once per page and kind
    for record in records:
        row = current.get((record.entity, record.entity_id))
        gone = row is None or record.operation is Operation.DELETE
        for kind in _kinds(record, None if gone or row is None else row.values):
            if kind not in mappers:
                mappers[kind] = alix_mapper(config, kind)
            values = None if gone or row is None else mappers[kind].from_alix(
                row.values, resolver=RESOLVER)
            owner = record.customer_id if row is None or gone else row.customer_id
            items.append(PushItem(kind, record.entity_id, owner, values, record.entry_ids))
    alix_ids = {i.alix_id for i in items} | {i.customer_id for i in items}
    kinds = {i.kind for i in items} | {LinkKind.CUSTOMER}
    links = links_by_alix_ids(session, scope, kinds, alix_ids)
    in_flight = _in_flight(session, scope, items, links)
    items = _with_accounts(items, links)
    before = links
    kept, links = follow_main_moves(session, scope, config, items, links, in_flight, now)
    versions = {key: row.version for key, row in current.items()}
    retried = frozenset(r.entry_ids for r in records if r.attempts)
    # With records left out, more may be due: one of them edited again while its page was
    # sent has a new row, for a page after this one.
    return Batch(records, kept, versions, links, in_flight, retried,
                 more=len(due) > limit or bool(exclude),
                 repointed=not links.keys() <= before.keys())
