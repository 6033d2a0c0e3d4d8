"""The preview of the first sync: the pull's own walk and plan, without the apply.

Every module is read page by page, mapped and planned exactly as the initial sync plans it
(sync.plan.plan_pull over what engine.page_state loads); nothing is written. Between pages the
preview carries what the apply would have stored: an Account planned to create or link stands
as linked for the Contacts and addresses that follow, and a customer linked by name is no
longer free for a later page's Account of the same name (which the sync then creates).

The plan does not know the organisation's rules (its currencies, the catalog's checks): the
apply learns them when the customer master refuses a write. So each decision that would write
is checked as that write checks it (alix.customers.domain.clean, with the organisation's
currencies): a refused one is shown rejected with the sync's own reason, is not carried, and
the records waiting on that Account are shown skipped, as the sync then skips them.

Before the first sync a person settles each ambiguous name: the chosen customer (or a new one
made from the Account) is linked at once, so the sync finds the pair and merges it, exactly
as it merges a pair it linked by name itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from alix.customers import repository as repo
from alix.customers.domain import NewCustomer, clean, normalize_name
from alix.customers.service import create_customer, currencies_of
from alix.db.session import unit_of_work
from alix.errors import Conflict, NotFound

from .config import SyncConfiguration
from .sync.engine.apply import _alix_values as alix_values
from .sync.engine.context import SyncContext
from .sync.engine.page_state import load_page, map_records
from .sync.engine.pull import Step, steps_of
from .sync.engine.pull_issues import label
from .sync.engine.resolver import RESOLVER
from .sync.kinds import LinkKind
from .sync.link import Link
from .sync.mapping import Mapped, Rejection, crm_fields, crm_module, from_crm
from .sync.plan import PageState, PullAction, PullDecision, PullPlan, plan_pull
from .sync.store import links as link_store

PAGE_SIZE = 200
EXAMPLES = 5
# A stand-in ALIX id for an Account the preview would create: children only need it linked.
_PLANNED = -1


@dataclass(frozen=True)
class Example:
    zoho_id: str
    name: str
    reason: str


@dataclass(frozen=True)
class Ambiguous:
    """An Account whose name several free ALIX customers share: a person picks."""

    zoho_id: str
    name: str
    candidates: tuple[tuple[int, str], ...]  # (customer id, name)


@dataclass
class Preview:
    """Counts per (module, action), a few examples of each, and every ambiguous name."""

    modules: list[str] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], list[Example]] = field(default_factory=dict)
    ambiguous: list[Ambiguous] = field(default_factory=list)

    def count(self, module: str, action: str) -> int:
        return self.counts[(module, action)]

    def add(self, module: str, decision: PullDecision, name: str) -> None:
        key = (module, decision.action.value)
        self.counts[key] += 1
        shown = self.examples.setdefault(key, [])
        if len(shown) < EXAMPLES:
            shown.append(Example(decision.zoho_id, name, decision.reason))


def _fields(ctx: SyncContext, step: Step) -> list[str]:
    return list(dict.fromkeys(f for kind in step.kinds for f in crm_fields(ctx.config, kind)))


async def _pages(ctx: SyncContext, step: Step, size: int) -> AsyncIterator[list[Any]]:
    page: list[Any] = []
    async for record in ctx.crm.iter_records(step.module, _fields(ctx, step)):
        page.append(record)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


def _name(record: Mapped | Rejection) -> str:
    if isinstance(record, Rejection):
        return ""
    values = record.values
    parts = [values.get("name")] if record.kind is LinkKind.CUSTOMER else [
        values.get("first_name"), values.get("last_name"), values.get("street"),
        values.get("city")]
    return " ".join(str(p) for p in parts if p) or record.zoho_id


class _Carry:
    """What the apply of earlier pages would have stored, for the pages that follow."""

    def __init__(self) -> None:
        self.accounts: dict[str, int] = {}  # Account id -> ALIX id (or _PLANNED)
        self.claimed: set[int] = set()  # customers linked by name already
        self.rejected: set[str] = set()  # Accounts the customer master would refuse

    def state(self, state: PageState) -> PageState:
        links = dict(state.links)
        for zoho_id, alix_id in self.accounts.items():
            links.setdefault((LinkKind.CUSTOMER, zoho_id),
                             Link(LinkKind.CUSTOMER, alix_id, zoho_id))
        matches = {name: [i for i in ids if i not in self.claimed]
                   for name, ids in state.name_matches.items()}
        return PageState(links, state.current, matches, state.main_addresses)

    def keep(self, decision: PullDecision) -> None:
        if decision.kind is not LinkKind.CUSTOMER:
            return
        if decision.action is PullAction.REJECT:
            self.rejected.add(decision.zoho_id)
        elif decision.action is PullAction.CREATE:
            self.accounts[decision.zoho_id] = _PLANNED
        elif decision.action is PullAction.LINK and decision.alix_id is not None:
            self.accounts[decision.zoho_id] = decision.alix_id
            self.claimed.add(decision.alix_id)


# The decisions whose apply writes ALIX values through the customer master (apply.pull_page).
_WRITES = frozenset({PullAction.CREATE, PullAction.LINK, PullAction.UPDATE, PullAction.CONFLICT})


def _refusal(decision: PullDecision, currencies: Sequence[str]) -> str | None:
    """Why the customer master would refuse this decision's write, or None: the check its bulk
    create (all fields) or update (the fields written) runs, over the values the apply sends."""
    if decision.action not in _WRITES or not decision.values:
        return None
    _values, errors = clean(decision.kind.entity, alix_values(decision.values),
                            partial=decision.action is not PullAction.CREATE,
                            currencies=currencies)
    return " ".join(m for messages in errors.values() for m in messages) or None


def as_applied(plan: PullPlan, config: SyncConfiguration, currencies: Sequence[str],
               refused: Collection[str], accounts: Mapping[str, str | None]
               ) -> list[PullDecision]:
    """The page's decisions as the apply ends them: a write the customer master refuses is a
    rejection (the sync's message), and a record whose Account is refused (`refused`: by an
    earlier page; or by this one, as apply.create_children skips it) waits for that Account,
    which `accounts` names (the Account id of each record of the page)."""
    rejected = set(refused)
    out = []
    for decision in plan.decisions:  # Accounts first: the plan orders parents before children
        parent = decision.parent
        waits_on = parent.zoho_id if parent is not None and parent.alix_id is None else (
            accounts.get(decision.zoho_id) if decision.action is PullAction.SKIP else None)
        if waits_on is not None and waits_on in rejected:
            out.append(replace(decision, action=PullAction.SKIP, reason=(
                f"{label(config, decision.kind, decision.zoho_id)} is not imported: its "
                f"Account {waits_on} would be rejected, so it waits for that Account.")))
            continue
        problems = _refusal(decision, currencies)
        if problems is None:
            out.append(decision)
            continue
        if decision.kind is LinkKind.CUSTOMER:
            rejected.add(decision.zoho_id)
        out.append(replace(decision, action=PullAction.REJECT, reason=(
            f"{label(config, decision.kind, decision.zoho_id)} cannot be imported: "
            f"{problems}")))
    return out


def _names(session: Session, organisation_id: int, ids: set[int]) -> dict[int, str]:
    return {c.id: c.name for c in repo.customers_by_ids(session, organisation_id, sorted(ids))}


async def preview_first_sync(ctx: SyncContext, page_size: int = PAGE_SIZE) -> Preview:
    """What the initial sync would do with every record Zoho holds now; writes nothing."""
    out = Preview()
    carry = _Carry()
    org = ctx.scope.organisation_id
    with unit_of_work(ctx.sessions) as session:
        currencies = currencies_of(session, org)
    for step in steps_of(ctx.config):
        out.modules.append(step.module)
        async for page in _pages(ctx, step, page_size):
            mapped = map_records(page, step.kinds, ctx.config)
            names = {(r.kind, r.zoho_id): _name(r) for r in mapped}
            with unit_of_work(ctx.sessions) as session:
                loaded = load_page(session, ctx.scope, ctx.config, org, mapped)
                plan = plan_pull(mapped, ctx.config, carry.state(loaded.state))
                wanted = {c for d in plan.decisions for c in d.candidates}
                who = _names(session, org, wanted) if wanted else {}
            accounts = {r.zoho_id: r.account_id for r in mapped
                        if isinstance(r, Mapped) and not r.kind.on_account}
            decisions = as_applied(plan, ctx.config, currencies, carry.rejected, accounts)
            for planned, decision in zip(plan.decisions, decisions, strict=True):
                if planned.kind.is_main_address and planned.action is PullAction.SKIP:
                    continue  # an Account without that address: nothing to say about it
                module = step.module if not decision.kind.is_main_address else \
                    f"{step.module} ({decision.kind.value.replace('_', ' ')})"
                if module not in out.modules:
                    out.modules.append(module)
                name = names.get((decision.kind, decision.zoho_id), decision.zoho_id)
                out.add(module, decision, name)
                carry.keep(decision)
                if decision.action is PullAction.AMBIGUOUS:
                    out.ambiguous.append(Ambiguous(decision.zoho_id, name, tuple(
                        (c, who.get(c, "")) for c in decision.candidates)))
    return out


async def choose(ctx: SyncContext, zoho_id: str, choice: str) -> str:
    """Settle an ambiguous Account before the first sync: link it to ALIX customer `choice`
    (one of those sharing its name, not linked yet) or, with "new", to a new customer made
    from the Account. Returns the name of the customer linked."""
    module = crm_module(ctx.config, LinkKind.CUSTOMER) or "Accounts"
    step = next((s for s in steps_of(ctx.config) if s.module == module), None)
    if step is None:
        raise Conflict("Activate the Customers module before settling names for the first sync.")
    found = await ctx.crm.get_records(module, [zoho_id], _fields(ctx, step))
    if not found:
        raise NotFound(f"Zoho CRM has no Account {zoho_id}.")
    record = from_crm(found[0], LinkKind.CUSTOMER, ctx.config, resolver=RESOLVER)
    if isinstance(record, Rejection):
        raise Conflict(record.reason)
    with unit_of_work(ctx.sessions) as session:
        now = ctx.clock()
        held = link_store.links_by_zoho_ids(session, ctx.scope, [LinkKind.CUSTOMER], [zoho_id])
        if held:
            raise Conflict(f"Zoho Account {zoho_id} is linked already.")
        if choice == "new":
            values: dict[str, Any] = dict(record.values) | dict(record.fixed)
            customer = create_customer(session, ctx.actor, NewCustomer(values),
                                       clock=lambda: now)
            link = Link(LinkKind.CUSTOMER, customer.id, zoho_id, record.values,
                        record.modified_time, customer.version)
        else:
            customer = _candidate(session, ctx, record, choice)
            # An empty base, as the sync's own link by name: the policy settles differences.
            link = Link(LinkKind.CUSTOMER, customer.id, zoho_id)
        link_store.create_links(session, ctx.scope, module, [link], now)
        return f"{customer.name} ({customer.id})"


def _candidate(session: Session, ctx: SyncContext, record: Mapped, choice: str) -> Any:
    name = record.name or ""
    free = [c for c in repo.customers_by_names(session, ctx.scope.organisation_id, [name])
            .get(normalize_name(name), [])]
    paired = link_store.links_by_alix_ids(session, ctx.scope, [LinkKind.CUSTOMER],
                                          [c.id for c in free])
    free = [c for c in free if (LinkKind.CUSTOMER, c.id) not in paired]
    chosen = next((c for c in free if str(c.id) == choice), None)
    if chosen is None:
        raise Conflict(f"Customer {choice} is not one of the ALIX customers named “{name}” "
                       "that are not linked yet.")
    return chosen
