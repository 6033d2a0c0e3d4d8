"""The push's side of the main-address rule (main_address): follow a main address a person
moved in ALIX, and never create a custom-module record for the main address.

Runs while the push batch is loaded, in its transaction. Moving the Account's main-address link
before Zoho is called is safe: its base still says what the Account's fields hold, so the plan
sends the new main address's values, and a crash or a refusal leaves a link the next push
diffs the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.link import Link
from alix.integrations.zoho_crm.sync.main_address import repointed, unpushed_mains
from alix.integrations.zoho_crm.sync.push_plan import PushItem
from alix.integrations.zoho_crm.sync.sources import Configuration
from alix.integrations.zoho_crm.sync.store import links as link_store
from alix.integrations.zoho_crm.sync.store.scope import DuplicateLink, SyncScope

Links = Mapping[tuple[LinkKind, int], Link]


def follow_main_moves(
    session: Session, scope: SyncScope, config: Configuration, items: Sequence[PushItem],
    links: Links, in_flight: frozenset[tuple[LinkKind, int]], now: datetime,
) -> tuple[tuple[PushItem, ...], dict[tuple[LinkKind, int], Link]]:
    """The batch's items and links once main-address links follow ALIX's main addresses.

    One links query, only when a main address of the batch is not paired with its Account.
    """
    out = dict(links)
    wanted = [(i.kind, i.alix_id, i.customer_id) for i in items
              if i.kind.is_main_address and i.values is not None and (i.kind, i.alix_id) not in out]
    if wanted:
        accounts = {alix_id: link.zoho_id for (kind, alix_id), link in out.items()
                    if kind is LinkKind.CUSTOMER and not link.tombstoned}
        main_links = link_store.links_by_zoho_ids(
            session, scope, {kind for kind, _a, _c in wanted}, set(accounts.values()))
        moved = repointed(wanted, out, main_links, accounts)
        try:
            link_store.repoint(session, scope, moved, now)
        except DuplicateLink:
            moved = []  # left to the plan: the address is paired already
        for link in moved:
            old = main_links[(link.kind, link.zoho_id)]
            out.pop((link.kind, old.alix_id), None)
            out[(link.kind, link.alix_id)] = link
    keep_out = unpushed_mains([(i.kind, i.alix_id, i.values) for i in items],
                              set(out) | set(in_flight), config)
    return tuple(i for i in items if (i.kind, i.alix_id) not in keep_out), out


def held_by_accounts(session: Session, scope: SyncScope, links: Sequence[Link]) -> set[int]:
    """The ALIX addresses among the custom-module links that an Account's fields pair too:
    a Zoho deletion of the custom record leaves them in ALIX (the Account still holds them)."""
    ids = [link.alix_id for link in links if link.kind in (LinkKind.BILLING, LinkKind.SHIPPING)]
    if not ids:
        return set()
    mains = link_store.links_by_alix_ids(
        session, scope, [LinkKind.MAIN_BILLING, LinkKind.MAIN_SHIPPING], ids)
    return {alix_id for (_kind, alix_id), link in mains.items() if not link.tombstoned}
