"""Which hints need no record read: our own writes coming back, and changes of unsynced fields.

With `return_affected_field_values`, an update callback carries the changed fields' values
(zoho-crm-api.md 6.1). When every changed field that a synced kind maps equals the link's base,
the CRM holds what both sides already agreed: merging the fetched record would plan a no-op, so
the fetch is skipped (sync-design.md, invariants 3 and 5). Anything the base cannot judge (no
affected values, no link, a tombstoned link, a changed Account lookup) is fetched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alix.integrations.zoho_crm.config import SyncConfiguration
from alix.integrations.zoho_crm.schema import HOME_CURRENCY

from ..kinds import LinkKind
from ..link import Link
from ..mapping import account_lookup, crm_module, kinds_of, rows_of
from ..normalize import Kind, Resolver, canonical, key
from ..sources import Row
from ..store.inbox import Hint


def kinds_of_module(config: SyncConfiguration, module: str) -> tuple[LinkKind, ...]:
    """The active link kinds whose records live in this CRM module (Accounts: the customer
    and its main addresses), parents first."""
    return tuple(sorted(
        (kind for kind in LinkKind
         if config.module(kind.module).active and crm_module(config, kind) == module),
        key=lambda k: k.rank,
    ))


def _country(affected: Mapping[str, Any], link: Link, rows: Sequence[Row],
             field_kinds: Mapping[str, Kind], resolver: Resolver) -> str | None:
    """The record's country code, which a province is resolved within: the changed one if the
    country changed too, else the agreed one."""
    for row in rows:
        if field_kinds.get(row.alix_field) is Kind.COUNTRY:
            value = (canonical(affected[row.crm_field], Kind.COUNTRY, resolver=resolver)
                     if row.crm_field in affected else link.base.get(row.alix_field))
            return value if isinstance(value, str) else None
    return None


def _same(value: Any, base: Any, kind: Kind, country: str | None, resolver: Resolver) -> bool:
    return key(canonical(value, kind, resolver=resolver, country=country), kind) == key(base, kind)


def needs_no_fetch(
    hint: Hint,
    kinds: Sequence[LinkKind],
    links: Mapping[tuple[LinkKind, str], Link],
    config: SyncConfiguration,
    resolver: Resolver,
) -> bool:
    """True when every pending notification of the record is an echo of its bases (or touched
    no synced field); False whenever a fetch could change something."""
    if hint.deleted or not kinds or any(a is None for a in hint.affected):
        return False
    for affected in hint.affected:
        assert affected is not None
        for kind in kinds:
            lookup = account_lookup(config, kind)
            if lookup is not None and lookup in affected:
                return False  # a move to another Account: the base does not hold it
            field_kinds = kinds_of(config, kind)
            rows = [r for r in rows_of(config, kind)
                    if r.crm_field in affected and r.crm_field != HOME_CURRENCY]
            if not rows:
                continue
            link = links.get((kind, hint.zoho_id))
            if link is None or link.tombstoned:
                return False
            country = _country(affected, link, rows_of(config, kind), field_kinds, resolver)
            for row in rows:
                if not _same(affected[row.crm_field], link.base.get(row.alix_field),
                             field_kinds[row.alix_field], country, resolver):
                    return False
    return True
