"""One customer's Zoho CRM pairing, as its page shows it, and what a person does to it there:
Sync now (or Create in Zoho), Unlink, and Link to an Account found by name or id.

Actions run the engine itself (the hints drain and the push) for this connection at once, as
the status page's Keep buttons do, so the page can say what happened. Linking by hand stores
the pair with an empty base, exactly as the pull's own link by name does: fields both sides
hold differently are then settled by the connection's conflict policy (or left open for a
person under "ask"), never silently overwritten.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from alix.clock import Clock
from alix.customers import outbox
from alix.customers import repository as repo
from alix.customers.domain import Actor, Change, Operation
from alix.customers.fields import Entity
from alix.customers.tables import customer_outbox
from alix.db.session import unit_of_work
from alix.errors import Conflict, NotFound

from .mappers import ModuleKind
from .repository import load_configuration
from .sync.engine.context import CrmFactory, SyncContext, open_context
from .sync.engine.hints import process_hints
from .sync.engine.pull_issues import CONFLICT
from .sync.engine.push import push
from .sync.kinds import LinkKind
from .sync.link import Link
from .sync.mapping import crm_module
from .sync.store import links as link_store
from .sync.store.inbox import add_hints
from .sync.store.issues import IssueStatus
from .sync.store.scope import SyncScope
from .sync.store.tables import zoho_links, zoho_sync_issues
from .tables import ZohoConnection

ACCOUNTS = "Accounts"
_ADDRESS_KINDS = tuple(k for k in LinkKind if k.entity is Entity.ADDRESS)
STATE_LABELS = {
    "not_linked": "Not linked to Zoho CRM", "in_sync": "In sync", "pending": "Changes pending",
    "error": "Error", "conflict": "Conflict", "deleted": "Deleted in Zoho CRM",
}


def state_of(*, linked: bool, deleted: bool, conflict: bool, issue: bool, pending: bool
             ) -> str:
    """The customer's state (a STATE_LABELS key) from its pairing's facts; the panel and the
    customer list's column (customer_list) both decide it here. A customer Zoho refused to
    create is in error, not merely "not linked": its issue says what to fix."""
    if linked and deleted:
        return "deleted"
    if conflict:
        return "conflict"
    if issue:
        return "error"
    if not linked:
        return "not_linked"
    return "pending" if pending else "in_sync"


@dataclass(frozen=True)
class RecordIssue:
    """An open issue of the customer or of one of its contacts or addresses."""

    id: int
    code: str
    kind: LinkKind
    alix_id: int | None
    field: str | None
    message: str
    details: dict[str, Any]
    created_at: datetime

    @property
    def is_conflict(self) -> bool:
        return self.code == CONFLICT


@dataclass(frozen=True)
class ChildSync:
    """A contact person or address whose own pairing differs from its customer's: not in Zoho
    CRM yet although its module syncs, or deleted there. (Its pending changes and problems are
    the customer's too: the panel counts and lists them.)"""

    what: str  # "Contact person" or "Billing address" ...
    alix_id: int
    name: str
    state: str

    @property
    def label(self) -> str:
        return _CHILD_LABELS[self.state]


_CHILD_LABELS = {"not_linked": "not in Zoho CRM yet: the next push creates it",
                 "deleted": "deleted in Zoho CRM"}


@dataclass(frozen=True)
class CustomerSync:
    """The panel's facts: state, the linked Account, when they last agreed, open issues, and
    the contacts and addresses whose state differs."""

    state: str
    zoho_id: str | None
    zoho_url: str | None
    last_synced: datetime | None
    pending_changes: int
    issues: tuple[RecordIssue, ...]
    children: tuple[ChildSync, ...] = ()

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def linked(self) -> bool:
        return self.zoho_id is not None and self.state != "deleted"


@dataclass(frozen=True)
class AccountMatch:
    """A Zoho Account a person may link the customer to."""

    zoho_id: str
    name: str
    linked_to: int | None  # the ALIX customer it is paired with already


def crm_web_url(connection: ZohoConnection, module: str, zoho_id: str) -> str | None:
    """Where a person opens the record in Zoho CRM's own pages, from the API domain of the
    connection's data centre (www.zohoapis.eu -> crm.zoho.eu; Canada's is crm.zohocloud.ca);
    None when the domain is not a Zoho API domain."""
    host = urlsplit(connection.api_domain or "").hostname or ""
    found = re.fullmatch(r"(?:www\.)?zohoapis\.(.+)", host)
    if found is None or not connection.zoho_org_id:
        return None
    tld = found.group(1)
    crm_host = "crm.zohocloud.ca" if tld == "ca" else f"crm.zoho.{tld}"
    return f"https://{crm_host}/crm/org{connection.zoho_org_id}/tab/{module}/{zoho_id}"


def _record_keys(session: Session, org: int, customer_id: int
                 ) -> list[tuple[tuple[LinkKind, ...], list[int]]]:
    """The (link kinds, ALIX ids) of the customer and of its contacts and addresses."""
    return [((LinkKind.CUSTOMER,), [customer_id]),
            ((LinkKind.CONTACT,), [c.id for c in repo.contacts_of(session, org, customer_id)]),
            (_ADDRESS_KINDS, [a.id for a in repo.addresses_of(session, org, customer_id)])]


def _of_records(table: Any, keys: Sequence[tuple[tuple[LinkKind, ...], list[int]]]) -> Any:
    return or_(*(and_(table.c.kind.in_([k.value for k in kinds]), table.c.alix_id.in_(ids))
                 for kinds, ids in keys if ids))


def _issues(session: Session, scope: SyncScope, keys: Sequence[tuple[tuple[LinkKind, ...],
                                                                      list[int]]]
            ) -> tuple[RecordIssue, ...]:
    t = zoho_sync_issues
    rows = session.execute(select(t).where(
        t.c.connection_id == scope.connection_id, t.c.status == IssueStatus.OPEN.value,
        _of_records(t, keys)).order_by(t.c.id)).all()
    return tuple(RecordIssue(r.id, r.code, LinkKind(r.kind), r.alix_id, r.field, r.message,
                             dict(r.details or {}), r.created_at) for r in rows)


def customer_sync(session: Session, scope: SyncScope, connection: ZohoConnection,
                  customer_id: int) -> CustomerSync:
    """The customer's pairing as a person reads it (NotFound outside the organisation)."""
    org = scope.organisation_id
    repo.get_customer(session, org, customer_id)
    keys = _record_keys(session, org, customer_id)
    link = link_store.links_by_alix_ids(session, scope, [LinkKind.CUSTOMER], [customer_id]).get(
        (LinkKind.CUSTOMER, customer_id))
    issues = _issues(session, scope, keys)
    pending = session.scalar(select(func.count()).select_from(customer_outbox).where(
        customer_outbox.c.organisation_id == org, customer_outbox.c.customer_id == customer_id,
        customer_outbox.c.status == outbox.PENDING)) or 0
    last = session.scalar(select(zoho_links.c.updated_at).where(
        zoho_links.c.connection_id == scope.connection_id,
        zoho_links.c.kind == LinkKind.CUSTOMER.value, zoho_links.c.alix_id == customer_id))
    state = state_of(linked=link is not None and bool(link.zoho_id),
                     deleted=link is not None and link.tombstoned,
                     conflict=any(i.is_conflict for i in issues), issue=bool(issues),
                     pending=bool(pending))
    zoho_id = link.zoho_id if link is not None and link.zoho_id else None
    url = crm_web_url(connection, ACCOUNTS, zoho_id) if zoho_id else None
    children = _children(session, scope, customer_id) if zoho_id else ()
    return CustomerSync(state, zoho_id, url, last if zoho_id else None, pending, issues,
                        children)


# Which integration modules sync an address of each kind: the custom module syncs them all, a
# main-address module only the main one (the Account's address fields).
_ADDRESS_MODULES = {"billing": (ModuleKind.BILLING, ModuleKind.MAIN_BILLING),
                    "shipping": (ModuleKind.SHIPPING, ModuleKind.MAIN_SHIPPING)}


def _children(session: Session, scope: SyncScope, customer_id: int) -> tuple[ChildSync, ...]:
    """The linked customer's contacts and addresses that are not in Zoho CRM although their
    module syncs, or whose Zoho record was deleted."""
    org = scope.organisation_id
    config = load_configuration(session, scope.connection_id)
    contacts = repo.contacts_of(session, org, customer_id)
    places = repo.addresses_of(session, org, customer_id)
    links = link_store.links_by_alix_ids(
        session, scope, [LinkKind.CONTACT, *_ADDRESS_KINDS],
        sorted({c.id for c in contacts} | {a.id for a in places}))
    found: list[ChildSync] = []

    def add(what: str, alix_id: int, name: str, kinds: Sequence[LinkKind], syncs: bool) -> None:
        mine = [links[(k, alix_id)] for k in kinds if (k, alix_id) in links]
        if any(link.tombstoned for link in mine):
            found.append(ChildSync(what, alix_id, name, "deleted"))
        elif not mine and syncs:
            found.append(ChildSync(what, alix_id, name, "not_linked"))

    for c in contacts:
        add("Contact person", c.id, " ".join(p for p in (c.first_name, c.last_name) if p),
            [LinkKind.CONTACT], config.module(ModuleKind.CUSTOMERS).active)
    for a in places:
        custom, main = _ADDRESS_MODULES.get(a.kind, (None, None))
        syncs = bool((custom and config.module(custom).active)
                     or (main and a.is_main and config.module(main).active))
        add(f"{a.kind.capitalize()} address", a.id,
            ", ".join(p for p in (a.label, a.street, a.city) if p) or f"#{a.id}",
            _ADDRESS_KINDS, syncs)
    return tuple(found)


def _touch(session: Session, actor: Actor, customer_id: int, now: datetime) -> None:
    """An outbox row for the customer, so the push compares it with Zoho (and creates the
    Account when it has none): the person asked for it, whatever changed before."""
    customer = repo.get_customer(session, actor.organisation_id, customer_id)
    outbox.record(session, actor, [Change(Entity.CUSTOMER, customer_id, customer_id,
                                          Operation.UPDATE, customer.version)], now)


def _require_customers(ctx: SyncContext) -> None:
    """The push and pull leave customers alone while the module is off: say so, rather than
    report a sync that did nothing."""
    if not ctx.config.module(ModuleKind.CUSTOMERS).active:
        raise Conflict("Activate the Customers module of Zoho CRM (Settings -> Integration -> "
                       "Zoho CRM) to sync customers.")


async def _run(ctx: SyncContext, pull: bool) -> None:
    if pull:
        await process_hints(ctx)
    await push(ctx)


async def sync_customer(sessions: sessionmaker[Session], factory: CrmFactory, clock: Clock,
                        connection_id: int, actor: Actor, customer_id: int) -> None:
    """Pull the customer's Account (when linked) and push the customer: Sync now, or Create
    in Zoho for a customer without an Account. Conflict for an Account deleted in Zoho."""
    async with open_context(sessions, connection_id, factory, clock, on_lane=True) as ctx:
        _require_customers(ctx)
        with unit_of_work(sessions) as session:
            link = link_store.links_by_alix_ids(session, ctx.scope, [LinkKind.CUSTOMER],
                                                [customer_id]).get(
                (LinkKind.CUSTOMER, customer_id))
            if link is not None and link.tombstoned:
                raise Conflict(f"Zoho Account {link.zoho_id} of this customer was deleted: "
                               "unlink the customer to create it again, or link it to "
                               "another Account.")
            _touch(session, actor, customer_id, clock())
            linked = link is not None and bool(link.zoho_id)
            if linked and link is not None:
                add_hints(session, ctx.scope, crm_module(ctx.config, LinkKind.CUSTOMER)
                          or ACCOUNTS, "update", [(link.zoho_id, None)], clock())
        await _run(ctx, linked)


def unlink_customer(session: Session, scope: SyncScope, customer_id: int, now: datetime
                    ) -> int:
    """Forget the pairs of the customer, its contacts and addresses (nothing is deleted on
    either side) and close their open issues, which were about those pairs. Returns how
    many pairs were forgotten."""
    repo.get_customer(session, scope.organisation_id, customer_id)
    keys = _record_keys(session, scope.organisation_id, customer_id)
    gone = session.execute(delete(zoho_links).where(
        zoho_links.c.connection_id == scope.connection_id, _of_records(zoho_links, keys)))
    t = zoho_sync_issues
    session.execute(t.update().where(
        t.c.connection_id == scope.connection_id, t.c.status == IssueStatus.OPEN.value,
        _of_records(t, keys)).values(status=IssueStatus.RESOLVED.value, resolved_at=now,
                                     updated_at=now))
    return int(getattr(gone, "rowcount", 0) or 0)


def _criteria_text(text: str) -> str:
    """Zoho's criteria syntax escapes its own delimiters with a backslash (Search Records
    API, "criteria")."""
    return re.sub(r"([(),\\])", r"\\\1", text)


async def search_accounts(sessions: sessionmaker[Session], factory: CrmFactory, clock: Clock,
                          connection_id: int, query: str) -> list[AccountMatch]:
    """Accounts whose name starts with `query`, or the Account whose id it is; each says
    which ALIX customer holds it already."""
    query = query.strip()
    if not query:
        return []
    async with open_context(sessions, connection_id, factory, clock, on_lane=True) as ctx:
        module = crm_module(ctx.config, LinkKind.CUSTOMER) or ACCOUNTS
        if query.isdigit():
            found = await ctx.crm.get_records(module, [query], ["Account_Name"])
        else:
            found = await ctx.crm.search(
                module, f"(Account_Name:starts_with:{_criteria_text(query)})", ["Account_Name"])
        with unit_of_work(sessions) as session:
            held = link_store.links_by_zoho_ids(session, ctx.scope, [LinkKind.CUSTOMER],
                                                [r.id for r in found])
    return [AccountMatch(r.id, str(r.values.get("Account_Name") or ""),
                         held[(LinkKind.CUSTOMER, r.id)].alix_id
                         if (LinkKind.CUSTOMER, r.id) in held else None)
            for r in found[:50]]


async def link_customer(sessions: sessionmaker[Session], factory: CrmFactory, clock: Clock,
                        connection_id: int, actor: Actor, customer_id: int, zoho_id: str
                        ) -> None:
    """Pair the customer with Zoho Account `zoho_id`, then merge and push them (Conflict when
    either is paired already, NotFound when Zoho has no such Account)."""
    async with open_context(sessions, connection_id, factory, clock, on_lane=True) as ctx:
        _require_customers(ctx)
        module = crm_module(ctx.config, LinkKind.CUSTOMER) or ACCOUNTS
        with unit_of_work(sessions) as session:
            repo.get_customer(session, actor.organisation_id, customer_id)
            mine = link_store.links_by_alix_ids(session, ctx.scope, [LinkKind.CUSTOMER],
                                                [customer_id]).get(
                (LinkKind.CUSTOMER, customer_id))
            if mine is not None and mine.zoho_id and not mine.tombstoned:
                raise Conflict(f"ALIX customer {customer_id} is linked to Zoho Account "
                               f"{mine.zoho_id} already: unlink it first.")
            theirs = link_store.links_by_zoho_ids(session, ctx.scope, [LinkKind.CUSTOMER],
                                                  [zoho_id]).get((LinkKind.CUSTOMER, zoho_id))
            if theirs is not None:
                raise Conflict(f"Zoho Account {zoho_id} is already linked to ALIX customer "
                               f"{theirs.alix_id}: unlink that customer first.")
        if not await ctx.crm.get_records(module, [zoho_id], ["Account_Name"]):
            raise NotFound(f"Zoho CRM has no Account {zoho_id}.")
        with unit_of_work(sessions) as session:
            now = clock()
            link_store.create_links(session, ctx.scope, module,
                                    [Link(LinkKind.CUSTOMER, customer_id, zoho_id)], now)
            add_hints(session, ctx.scope, module, "update", [(zoho_id, None)], now)
            _touch(session, actor, customer_id, now)
        await _run(ctx, True)
