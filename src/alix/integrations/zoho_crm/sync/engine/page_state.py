"""What the pull plan of a page needs from the database, loaded in a few queries.

Links of the page's records and of the Accounts their children point at (1), the linked ALIX
rows (1 per entity), name matches of unlinked Accounts (2), main addresses (1), and for a page of
a custom address module whose main module is on, the customers' main addresses and their links
of that module (2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from alix.customers import repository as repo
from alix.customers.fields import Entity
from alix.integrations.zoho_crm.config import SyncConfiguration
from alix.integrations.zoho_crm.sync.kinds import ACCOUNT, LinkKind
from alix.integrations.zoho_crm.sync.link import Current, Link
from alix.integrations.zoho_crm.sync.main_address import governed, is_default
from alix.integrations.zoho_crm.sync.mapping import Mapped, Rejection, crm_mapper, from_alix
from alix.integrations.zoho_crm.sync.plan import PageState
from alix.integrations.zoho_crm.sync.sources import ZohoRecord
from alix.integrations.zoho_crm.sync.store import links as link_store
from alix.integrations.zoho_crm.sync.store.scope import SyncScope

from .alix_rows import rows_by_key
from .resolver import RESOLVER


@dataclass(frozen=True)
class LoadedPage:
    """The plan's PageState, and the customer of each loaded ALIX row (its push work's owner)."""

    state: PageState
    owners: dict[tuple[Entity, int], int]


def map_records(records: Iterable[ZohoRecord], kinds: Sequence[LinkKind],
                config: SyncConfiguration) -> list[Mapped | Rejection]:
    """Every record as each kind it carries (an Account is a customer and its main addresses)."""
    mappers = [crm_mapper(config, kind, resolver=RESOLVER) for kind in kinds]
    return [mapper(record) for record in records for mapper in mappers]


def _current(config: SyncConfiguration, kind: LinkKind, row: Any) -> Current:
    return Current(row.id, from_alix(kind, row.values(), config, resolver=RESOLVER),
                   row.version, row.updated_at)


def _add_accounts(session: Session, scope: SyncScope,
                  current: dict[tuple[LinkKind, int], Current],
                  owners: Mapping[tuple[Entity, int], int]) -> None:
    """A contact's Account is one of its synced values (kinds.ACCOUNT): the Zoho Account of
    its ALIX customer, None when that customer is not synced (1 query, contacts only)."""
    contacts = [alix_id for kind, alix_id in current if kind is LinkKind.CONTACT]
    if not contacts:
        return
    customers = {owners[(Entity.CONTACT, i)] for i in contacts if (Entity.CONTACT, i) in owners}
    paired = link_store.links_by_alix_ids(session, scope, [LinkKind.CUSTOMER], sorted(customers))
    for alix_id in contacts:
        link = paired.get((LinkKind.CUSTOMER, owners.get((Entity.CONTACT, alix_id), -1)))
        account = None if link is None or link.tombstoned else link.zoho_id
        found = current[(LinkKind.CONTACT, alix_id)]
        current[(LinkKind.CONTACT, alix_id)] = replace(
            found, values={**found.values, ACCOUNT: account})


def load_page(session: Session, scope: SyncScope, config: SyncConfiguration,
              organisation_id: int, records: Sequence[Mapped | Rejection]) -> LoadedPage:
    """Load, for the whole page at once, what `plan.plan_pull` decides on."""
    owners: dict[tuple[Entity, int], int] = {}
    mapped = [r for r in records if isinstance(r, Mapped)]
    own = {(r.kind, r.zoho_id) for r in mapped}  # a set: no link x record comparison
    links = link_store.links_by_zoho_ids(session, scope, {r.kind for r in mapped},
                                         {r.zoho_id for r in mapped})
    # The Accounts the page's children point at: only whom they pair with (the plan's parent).
    parents = {r.account_id for r in mapped if r.account_id
               and (LinkKind.CUSTOMER, r.account_id) not in own}
    links.update(link_store.pairings_by_zoho_ids(session, scope, LinkKind.CUSTOMER, parents))
    rows = rows_by_key(session, organisation_id, (
        (key[0].entity, link.alix_id) for key, link in links.items()
        if not link.tombstoned and key in own))
    current: dict[tuple[LinkKind, int], Current] = {}
    for (kind, _zoho_id), link in links.items():
        row = rows.get((kind.entity, link.alix_id))
        if row is not None:
            owners[(kind.entity, row.id)] = int(getattr(row, "customer_id", row.id))
            current[(kind, link.alix_id)] = _current(config, kind, row)
    _add_accounts(session, scope, current, owners)
    # Unlinked Accounts: ALIX customers of the same name that no link pairs yet.
    unlinked = [r for r in mapped if r.kind is LinkKind.CUSTOMER
                and (r.kind, r.zoho_id) not in links and r.name]
    name_matches: dict[str, list[int]] = {}
    if unlinked:
        found = repo.customers_by_names(session, organisation_id,
                                        [str(r.name) for r in unlinked])
        ids = [c.id for cs in found.values() for c in cs]
        paired = link_store.links_by_alix_ids(session, scope,
                                              [LinkKind.CUSTOMER], ids)
        for name, customers in found.items():
            free = [c for c in customers if (LinkKind.CUSTOMER, c.id) not in paired]
            name_matches[name] = [c.id for c in free]
            for c in free:
                current[(LinkKind.CUSTOMER, c.id)] = _current(config, LinkKind.CUSTOMER, c)
    # Main addresses of the customers the page's Account-side addresses belong to.
    main_addresses: dict[tuple[LinkKind, int], Current] = {}
    if any(r.kind.is_main_address for r in mapped):
        holders = {link.alix_id for (kind, _z), link in links.items()
                     if kind is LinkKind.CUSTOMER and not link.tombstoned}
        holders |= {i for ids in name_matches.values() for i in ids}
        paired_mains = {(k, link.alix_id) for (k, _z), link in links.items()
                        if k.is_main_address}
        for address in repo.flagged_of(session, Entity.ADDRESS, organisation_id,
                                       sorted(holders)):
            kind = (LinkKind.MAIN_BILLING if address.kind == "billing"
                    else LinkKind.MAIN_SHIPPING)
            if (kind, address.id) not in paired_mains:
                main_addresses[(kind, address.customer_id)] = _current(config, kind, address)
    main_addresses.update(_unpaired_mains(session, scope, config, organisation_id, mapped, links))
    return LoadedPage(PageState(links, current, name_matches, main_addresses), owners)


def _unpaired_mains(session: Session, scope: SyncScope, config: SyncConfiguration,
                    organisation_id: int, mapped: Sequence[Mapped],
                    links: Mapping[tuple[LinkKind, str], Link]
                    ) -> dict[tuple[LinkKind, int], Current]:
    """For new Default records of a custom address module whose main module is on, the main
    address of their customer that no record of that module pairs yet (main_address)."""
    wanted = [r for r in mapped if governed(config, r.kind) and is_default(r.values)
              and (r.kind, r.zoho_id) not in links and r.account_id]
    customers: dict[LinkKind, set[int]] = {}
    for record in wanted:
        parent = links.get((LinkKind.CUSTOMER, str(record.account_id)))
        if parent is not None and not parent.tombstoned:
            customers.setdefault(record.kind, set()).add(parent.alix_id)
    found: dict[tuple[LinkKind, int], Current] = {}
    for kind, holders in customers.items():
        mains = [a for a in repo.flagged_of(session, Entity.ADDRESS, organisation_id,
                                            sorted(holders)) if a.kind == kind.address_kind]
        paired = link_store.links_by_alix_ids(session, scope, [kind], [a.id for a in mains])
        for address in mains:
            if (kind, address.id) not in paired:
                found[(kind, address.customer_id)] = _current(config, kind, address)
    return found
