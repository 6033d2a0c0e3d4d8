"""Links and their bases in `zoho_links`: loaded a page at a time, written in bulk.

Every function works in the caller's session and transaction (the page's unit of work), never
commits, and issues one statement per call (executemany for the bulk writes; create_links a
second one, replacing tombstones of the same ALIX ids, and a third for new Account links, which
release the records waiting for them: issues.wake_waiting). A refused write
(a second link for a paired record) raises DuplicateLink and leaves the transaction usable: the
statement runs in a savepoint.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alix.db import driver

from ..kinds import LinkKind
from ..link import Link
from ..normalize import SyncValue
from . import issues
from .scope import DuplicateLink, SyncScope
from .tables import zoho_links

_DECIMAL = "$decimal"  # JSON has no decimal: {"$decimal": "12.50"} keeps the exact value


def encode_base(base: Mapping[str, SyncValue]) -> dict[str, Any]:
    """The JSON form of a base: Decimal values tagged, everything else as is."""
    return {k: {_DECIMAL: str(v)} if isinstance(v, Decimal) else v for k, v in base.items()}


def _tagged(value: object) -> dict[str, str]:
    if isinstance(value, Decimal):
        return {_DECIMAL: str(value)}
    raise TypeError(f"A base holds no {type(value).__name__}.")


# orjson writes datetimes and dataclasses itself; a base holds neither, and one that did
# would be a bug to raise (in `_tagged`), as json did, not text to store.
_ONLY_BASE_TYPES = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def base_json(base: Mapping[str, SyncValue]) -> str:
    """encode_base as JSON text in one pass: orjson calls `_tagged` for the Decimals only, so
    a base without numbers (nearly all) is not copied first. Every record the sync links or
    merges writes one (orjson: 0.5 us for a base of five fields, json 4.8 us)."""
    return orjson.dumps(base, default=_tagged, option=_ONLY_BASE_TYPES).decode()


def decode_base(data: Mapping[str, Any] | None) -> dict[str, SyncValue]:
    """The inverse of encode_base."""
    out: dict[str, SyncValue] = {}
    for name, value in (data or {}).items():
        if isinstance(value, dict) and _DECIMAL in value:
            out[name] = Decimal(str(value[_DECIMAL]))
        elif value is None or isinstance(value, str | bool | int):
            out[name] = value
        else:  # a float written by hand: keep it exact as a decimal
            out[name] = Decimal(str(value))
    return out


@dataclass(frozen=True)
class PendingInsert:
    """A create in flight: marked before the Zoho call, not yet completed with Zoho's id.

    After a crash, look the record up in Zoho (created at or after `since` by our integration
    user) before creating it again.
    """

    kind: LinkKind
    alix_id: int
    zoho_module: str
    since: datetime


_LINK_SELECT = "kind, alix_id, zoho_id, base, base_modified_time, base_version, tombstoned_at"
_KINDS = {kind.value: kind for kind in LinkKind}


@contextmanager
def _refusing_duplicates(scope: SyncScope, what: str) -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        # PostgreSQL names the constraint, SQLite the columns; anything else (a foreign key)
        # is not a duplicate.
        reason = str(exc.orig)
        if "uq_zoho_links_" not in reason and "UNIQUE constraint failed: zoho_links." not in reason:
            raise
        raise DuplicateLink(
            f"Connection {scope.connection_id} already has a link for {what}: "
            "one ALIX record pairs with one Zoho record."
        ) from exc


def _describe(pairs: Iterable[tuple[LinkKind, object]]) -> str:
    return ", ".join(f"{kind.value} {ident}" for kind, ident in pairs)


def links_by_zoho_ids(
    session: Session, scope: SyncScope, kinds: Collection[LinkKind], zoho_ids: Collection[str]
) -> dict[tuple[LinkKind, str], Link]:
    """The links of a page of Zoho records, by (kind, Zoho id), tombstoned ones included.

    One query. An Account's page asks for the customer and main-address kinds at once (they
    share the Account's id).
    """
    if not kinds or not zoho_ids:
        return {}
    rows = _link_rows(session, scope, kinds, "zoho_id", zoho_ids, text=True)
    return {(link.kind, link.zoho_id): link for link in (_driver_link(r) for r in rows)}


def _link_rows(session: Session, scope: SyncScope, kinds: Collection[LinkKind], key: str,
               values: Collection[Any], *, text: bool) -> list[tuple[Any, ...]]:
    """Rows of _LINK_SELECT by kind and zoho_id or alix_id, through the driver (every page
    of every pull and push reads its links so: driver.py says why)."""
    listed, parameter = driver.among(session, values, text=text)
    names = sorted({k.value for k in kinds})
    return driver.rows(
        session, f"SELECT {_LINK_SELECT} FROM zoho_links WHERE connection_id = ? "
                 f"AND kind IN ({', '.join('?' * len(names))}) AND {key} {listed}",
        (scope.connection_id, *names, parameter))


def _driver_link(row: Sequence[Any]) -> Link:  # a row of _LINK_SELECT
    kind, alix_id, zoho_id, base, modified, version, tombstoned_at = row
    return Link(_KINDS[kind], alix_id, zoho_id, decode_base(driver.json_value(base)),
                driver.stored_timestamp(modified), version, tombstoned_at is not None)


def pairings_by_zoho_ids(
    session: Session, scope: SyncScope, kind: LinkKind, zoho_ids: Collection[str]
) -> dict[tuple[LinkKind, str], Link]:
    """The links of records a page only points at (the Accounts of its contacts), by (kind,
    Zoho id): who they pair with and whether they are tombstoned, without their bases (empty),
    which a parent's plan never reads. One query; no JSON decoded per row.
    """
    if not zoho_ids:
        return {}
    listed, parameter = driver.among(session, zoho_ids, text=True)
    rows = driver.rows(
        session, "SELECT alix_id, zoho_id, tombstoned_at IS NOT NULL FROM zoho_links "
                 f"WHERE connection_id = ? AND kind = ? AND zoho_id {listed}",
        (scope.connection_id, kind.value, parameter))
    return {(kind, zoho_id): Link(kind, alix_id, zoho_id, tombstoned=bool(tombstoned))
            for alix_id, zoho_id, tombstoned in rows}


def links_by_alix_ids(
    session: Session, scope: SyncScope, kinds: Collection[LinkKind], alix_ids: Collection[int]
) -> dict[tuple[LinkKind, int], Link]:
    """The links of ALIX records, by (kind, ALIX id), tombstoned ones included; one query.

    Creates in flight (pending markers, no Zoho id yet) are not links: see pending_inserts.
    """
    if not kinds or not alix_ids:
        return {}
    rows = _link_rows(session, scope, kinds, "alix_id", alix_ids, text=False)
    # Markers are left out here, not in the query: a `zoho_id IS NOT NULL` there makes SQLite
    # walk the (kind, zoho_id) key, every link of the kinds, instead of the (kind, alix_id) one.
    found: dict[tuple[LinkKind, int], Link] = {}
    for row in rows:
        if row[2] is not None:
            link = _driver_link(row)
            found[(link.kind, link.alix_id)] = link
    return found


def create_links(
    session: Session, scope: SyncScope, zoho_module: str, links: Sequence[Link], now: datetime
) -> None:
    """Insert new pairs (executemany); DuplicateLink when either side is paired already.

    A tombstoned link of the same (kind, ALIX id) is replaced, not a refusal: the sync never
    pairs a record whose pair was deleted again (the plans stop at its tombstone, and the name
    match leaves paired customers out), so a new pair for that id means the id now names
    another record. ALIX ids are never reused since migration 0008, but older SQLite databases did
    reuse the id of a deleted newest row, and refusing would stop every later page of the
    module for good. Its Zoho record loses its tombstone: were it restored from Zoho's recycle
    bin, it would come back as a new record. A tombstoned Zoho id still refuses a new pair.

    All or nothing: on a refusal none of `links` is stored, no tombstone is replaced, and the
    transaction stays usable.

    A new Account link, whichever path made it (a pull page, the push, a person), makes due
    the pull issues of the Contacts and addresses that wait for that Account.
    """
    if not links:
        return
    what = _describe((link.kind, link.zoho_id) for link in links)
    with _refusing_duplicates(scope, what), session.begin_nested():
        # One query finds the tombstones to replace (there are rarely any), instead of one
        # DELETE per new link.
        tombstoned = _tombstoned_ids(session, scope, links)
        if tombstoned:
            session.execute(delete(zoho_links).where(
                zoho_links.c.connection_id == scope.connection_id,
                zoho_links.c.id.in_(tombstoned)))
        _insert_links(session, scope, zoho_module, links, now)
    issues.wake_waiting(session, scope, [link.zoho_id for link in links
                                         if link.kind is LinkKind.CUSTOMER], now)


def _tombstoned_ids(session: Session, scope: SyncScope, links: Sequence[Link]) -> list[int]:
    wanted = {(link.kind.value, link.alix_id) for link in links}
    kinds = sorted({kind for kind, _ in wanted})
    listed, parameter = driver.among(session, sorted({alix_id for _, alix_id in wanted}))
    rows = driver.rows(
        session, "SELECT id, kind, alix_id FROM zoho_links WHERE connection_id = ? "
                 f"AND kind IN ({', '.join('?' * len(kinds))}) AND alix_id {listed} "
                 "AND tombstoned_at IS NOT NULL",
        (scope.connection_id, *kinds, parameter))
    return [row_id for row_id, kind, alix_id in rows if (kind, alix_id) in wanted]


_INSERT_COLUMNS = ("organisation_id", "connection_id", "kind", "alix_id", "zoho_module",
                   "zoho_id", "base", "base_modified_time", "base_version", "tombstoned_at",
                   "created_at", "updated_at")
_INSERT_LINKS = (f"INSERT INTO zoho_links ({', '.join(_INSERT_COLUMNS)}) "
                 f"VALUES ({', '.join(['?'] * len(_INSERT_COLUMNS))})")


def _insert_links(session: Session, scope: SyncScope, zoho_module: str, links: Sequence[Link],
                  now: datetime) -> None:
    """One DB-API executemany of tuples: the JSON of each base and every timestamp formatted
    here, once (a page's links share `now`), instead of per value by the column types."""
    stamp = driver.timestamps(session)
    at = stamp(now)
    org, conn = scope.organisation_id, scope.connection_id
    rows = [
        (org, conn, link.kind.value, link.alix_id, zoho_module, link.zoho_id,
         base_json(link.base), stamp(link.base_modified_time), link.base_version,
         at if link.tombstoned else None, at, at)
        for link in links
    ]
    driver.execute_many(session, _INSERT_LINKS, rows)


def update_bases(session: Session, scope: SyncScope, links: Sequence[Link], now: datetime) -> int:
    """Store new bases (values, Modified_Time, ALIX version), matched by (kind, Zoho id).

    One DB-API executemany of tuples, as _insert_links: each base's JSON and the timestamps
    formatted here, once, instead of per value by the column types. The link's tombstone is
    left as it is (see tombstone). Returns how many links were updated (a link that does not
    exist is not created).
    """
    if not links:
        return 0
    stamp = driver.timestamps(session)
    at, conn = stamp(now), scope.connection_id
    rows = [(base_json(link.base), stamp(link.base_modified_time), link.base_version, at,
             conn, link.kind.value, link.zoho_id) for link in links]
    return driver.execute_many(
        session, "UPDATE zoho_links SET base = ?, base_modified_time = ?, base_version = ?, "
                 "updated_at = ? WHERE connection_id = ? AND kind = ? AND zoho_id = ?", rows)


def tombstone(
    session: Session, scope: SyncScope, keys: Iterable[tuple[LinkKind, str]], now: datetime
) -> None:
    """Mark the links of deleted records by (kind, Zoho id); an existing tombstone keeps its time.

    The row stays: a tombstoned link never lets the survivor be re-created silently.
    """
    params = [{"b_kind": kind.value, "b_zoho_id": zoho_id} for kind, zoho_id in keys]
    if not params:
        return
    session.execute(
        update(zoho_links)
        .where(
            zoho_links.c.connection_id == scope.connection_id,
            zoho_links.c.kind == bindparam("b_kind"),
            zoho_links.c.zoho_id == bindparam("b_zoho_id"),
            zoho_links.c.tombstoned_at.is_(None),
        )
        .values(tombstoned_at=now, updated_at=now),
        params,
    )


def mark_pending(
    session: Session,
    scope: SyncScope,
    zoho_module: str,
    keys: Sequence[tuple[LinkKind, int]],
    now: datetime,
) -> None:
    """Record creates about to be sent to Zoho, by (kind, ALIX id), before the call.

    Idempotent: a record already marked keeps its first marker (recovery searches from it).
    DuplicateLink when a record is already linked: it must be updated, not created.
    """
    if not keys:
        return
    wanted = {(kind.value, alix_id) for kind, alix_id in keys}
    existing = session.execute(
        select(zoho_links.c.kind, zoho_links.c.alix_id, zoho_links.c.zoho_id).where(
            zoho_links.c.connection_id == scope.connection_id,
            zoho_links.c.kind.in_(sorted({kind for kind, _ in wanted})),
            zoho_links.c.alix_id.in_(sorted({alix_id for _, alix_id in wanted})),
        )
    ).all()
    linked = [(LinkKind(r.kind), r.alix_id) for r in existing
              if r.zoho_id is not None and (r.kind, r.alix_id) in wanted]
    if linked:
        raise DuplicateLink(
            f"Connection {scope.connection_id} already has a link for {_describe(linked)}: "
            "a linked record is updated in Zoho, never created again."
        )
    marked = {(r.kind, r.alix_id) for r in existing}
    rows: list[dict[str, Any]] = [
        {
            **scope.stamp(),
            "kind": kind,
            "alix_id": alix_id,
            "zoho_module": zoho_module,
            "zoho_id": None,
            "base": {},
            "pending_since": now,
            "created_at": now,
            "updated_at": now,
        }
        for kind, alix_id in sorted(wanted - marked)
    ]
    if rows:
        with _refusing_duplicates(scope, _describe(keys)), session.begin_nested():
            session.execute(insert(zoho_links), rows)


def complete_pending(
    session: Session, scope: SyncScope, links: Sequence[Link], now: datetime
) -> int:
    """Store Zoho's ids (and the bases) of completed creates and clear their markers.

    Call it in the transaction that records Zoho's answer. Matched by (kind, ALIX id) among the
    pending rows; returns how many were completed. DuplicateLink when the Zoho id is already
    linked to another ALIX record (then nothing of this call is stored).
    """
    if not links:
        return 0
    stmt = (
        update(zoho_links)
        .where(
            zoho_links.c.connection_id == scope.connection_id,
            zoho_links.c.kind == bindparam("b_kind"),
            zoho_links.c.alix_id == bindparam("b_alix_id"),
            zoho_links.c.pending_since.is_not(None),
        )
        .values(
            zoho_id=bindparam("b_zoho_id"),
            base=bindparam("b_base"),
            base_modified_time=bindparam("b_modified"),
            base_version=bindparam("b_version"),
            pending_since=None,
            updated_at=now,
        )
    )
    params = [
        {
            "b_kind": link.kind.value,
            "b_alix_id": link.alix_id,
            "b_zoho_id": link.zoho_id,
            "b_base": encode_base(link.base),
            "b_modified": link.base_modified_time,
            "b_version": link.base_version,
        }
        for link in links
    ]
    what = _describe((link.kind, link.zoho_id) for link in links)
    with _refusing_duplicates(scope, what), session.begin_nested():
        result = session.execute(stmt, params)
    return int(result.rowcount)  # type: ignore[attr-defined]


def clear_pending(session: Session, scope: SyncScope, keys: Iterable[tuple[LinkKind, int]]) -> None:
    """Drop the markers of creates that will not happen (Zoho refused them for good)."""
    params = [{"b_kind": kind.value, "b_alix_id": alix_id} for kind, alix_id in keys]
    if not params:
        return
    session.execute(
        delete(zoho_links).where(
            zoho_links.c.connection_id == scope.connection_id,
            zoho_links.c.kind == bindparam("b_kind"),
            zoho_links.c.alix_id == bindparam("b_alix_id"),
            zoho_links.c.zoho_id.is_(None),
        ),
        params,
    )


def pending_inserts(
    session: Session, scope: SyncScope, *, before: datetime | None = None
) -> list[PendingInsert]:
    """Creates in flight, oldest first; `before` limits them to markers older than a moment
    (those of a crashed run, not of the run sending them now)."""
    conditions = [
        zoho_links.c.connection_id == scope.connection_id,
        zoho_links.c.pending_since.is_not(None),
    ]
    if before is not None:
        conditions.append(zoho_links.c.pending_since < before)
    rows = session.execute(
        select(zoho_links.c.kind, zoho_links.c.alix_id, zoho_links.c.zoho_module,
               zoho_links.c.pending_since)
        .where(and_(*conditions))
        .order_by(zoho_links.c.pending_since, zoho_links.c.id)
    )
    return [PendingInsert(LinkKind(r.kind), r.alix_id, r.zoho_module, r.pending_since)
            for r in rows]


def repoint(session: Session, scope: SyncScope, links: Sequence[Link], now: datetime) -> None:
    """Pair each link's Zoho record (kind, Zoho id) with its new ALIX id, its base kept: the
    Account's main-address link follows the address a person made main in ALIX
    (main_address.repointed). DuplicateLink when that address is paired already."""
    if not links:
        return
    params = [{"b_kind": link.kind.value, "b_zoho_id": link.zoho_id, "b_alix_id": link.alix_id}
              for link in links]
    stmt = (
        update(zoho_links)
        .where(
            zoho_links.c.connection_id == scope.connection_id,
            zoho_links.c.kind == bindparam("b_kind"),
            zoho_links.c.zoho_id == bindparam("b_zoho_id"),
        )
        .values(alix_id=bindparam("b_alix_id"), updated_at=now)
    )
    what = _describe((link.kind, link.zoho_id) for link in links)
    with _refusing_duplicates(scope, what), session.begin_nested():
        session.execute(stmt, params)
