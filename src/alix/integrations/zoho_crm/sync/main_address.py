"""Which address is the main one when both kinds of address module are on (pure).

The rule (docs/zoho-crm.md, "Main addresses"): while the Main billing (shipping) address module
is on, the Account's Billing_* (Shipping_*) fields are the customer's main address. A record of
the Billing (Shipping) Addresses module whose Default is checked and which holds the same place
(street, city, postal code, country, compared normalized) is that same ALIX address: two links,
the main-address kind and the custom kind, pair one ALIX row. Any other record is an additional,
non-main address, whatever its Default says. The CRM's Default never moves ALIX's main address,
and the sync writes Default only for an address whose main flag a person switched in ALIX.

To keep that, a custom-kind link's base holds ALIX's main flag as last agreed (not Zoho's
Default): the merge sees the CRM's Default as unchanged, so only an ALIX switch is pushed.
When a person picks another main address in ALIX, the Account's main-address link is re-pointed
to it (its base still says what the Account's fields hold), so the push writes the Account's
fields once and flips the Default of the two records concerned once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from .kinds import LinkKind
from .link import Link
from .normalize import Kind, SyncValue, key
from .sources import Configuration

FLAG = "is_main"
PLACE = ("street", "city", "postal_code", "country")
_MAIN_OF = {LinkKind.BILLING: LinkKind.MAIN_BILLING, LinkKind.SHIPPING: LinkKind.MAIN_SHIPPING}
_CUSTOM_OF = {main: custom for custom, main in _MAIN_OF.items()}


def main_kind(kind: LinkKind) -> LinkKind | None:
    """The Account-side kind of a custom address kind (BILLING -> MAIN_BILLING)."""
    return _MAIN_OF.get(kind)


def governed(config: Configuration, kind: LinkKind) -> bool:
    """True when the Account's fields, not the custom module's Default, decide the main address
    of this custom address kind: both modules of its type are on."""
    main = _MAIN_OF.get(kind)
    return (
        main is not None
        and config.module(kind.module).active
        and config.module(main.module).active
    )


def same_place(
    a: Mapping[str, SyncValue], b: Mapping[str, SyncValue], kinds: Mapping[str, Kind]
) -> bool:
    """Same street, city, postal code and country (canonical values, compared by key); two
    places with none of them are not the same address."""
    names = [n for n in PLACE if n in kinds]
    if not any(a.get(n) is not None for n in names):
        return False
    return all(key(a.get(n), kinds[n]) == key(b.get(n), kinds[n]) for n in names)


def is_default(values: Mapping[str, SyncValue]) -> bool:
    """The custom record's Default (mapped to ALIX's main flag) is checked."""
    return values.get(FLAG) is True


def crm_side(
    values: Mapping[str, SyncValue], alix: Mapping[str, SyncValue],
    base: Mapping[str, SyncValue],
) -> dict[str, SyncValue]:
    """The CRM values a governed record is merged with: its Default stands for the flag the
    base remembers (ALIX's when the pair is new), so the CRM never changes ALIX's main address
    and only an ALIX switch of the flag is pushed."""
    if FLAG not in values:
        return dict(values)
    return {**values, FLAG: base[FLAG] if FLAG in base else alix.get(FLAG)}


def repointed(
    wanted: Collection[tuple[LinkKind, int, int]],
    links: Mapping[tuple[LinkKind, int], Link],
    main_links: Mapping[tuple[LinkKind, str], Link],
    accounts: Mapping[int, str],
) -> list[Link]:
    """The main-address links to move to the address a person made main in ALIX.

    `wanted`: (main kind, ALIX address id, customer id) of the addresses that are main in ALIX
    now; `links` by (kind, ALIX id); `main_links` by (kind, Account id); `accounts` customer ->
    Account id. A live link of the customer's Account that pairs another address moves to this
    one with its base kept (what the Account's fields hold), so the push sends the difference.
    """
    moved = []
    for kind, alix_id, customer_id in wanted:
        account = accounts.get(customer_id)
        if account is None or (kind, alix_id) in links:
            continue
        link = main_links.get((kind, account))
        if link is None or link.tombstoned or link.alix_id == alix_id:
            continue
        moved.append(replace(link, alix_id=alix_id))
    return moved


def unpushed_mains(
    items: Sequence[tuple[LinkKind, int, Mapping[str, SyncValue] | None]],
    links: Collection[tuple[LinkKind, int]],
    config: Configuration,
) -> set[tuple[LinkKind, int]]:
    """The custom-kind push items of main addresses with no custom record: the Account's fields
    hold them, so no Default record is created for them (that would add a second Default)."""
    return {
        (kind, alix_id) for kind, alix_id, values in items
        if values is not None and values.get(FLAG) is True and governed(config, kind)
        and (kind, alix_id) not in links
    }


def custom_kind(kind: LinkKind) -> LinkKind | None:
    """The custom address kind of a main-address kind (MAIN_BILLING -> BILLING)."""
    return _CUSTOM_OF.get(kind)
