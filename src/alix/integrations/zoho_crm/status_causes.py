"""The sync status page's "causes, not rows": open issues grouped by cause, with counts.

A record waiting on an Account (its Contacts) sits under the Account's cause and is retried
with it; the grouping itself (what a cause is) is the pure `causes` module's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from alix.jobs.queue import JobQueue

from . import repository
from .causes import CURRENCY, Cause, cause_of, parent_of
from .status import IssueView, RetryOutcome, open_views, retry_ids
from .sync.kinds import LinkKind
from .sync.store.issues import Direction
from .sync.store.scope import SyncScope
from .tables import CONNECTED

# How a cause's count names records: Zoho's modules for what the pull could not import,
# ALIX's records for what the push could not send.
_COUNTED = {
    Direction.PULL: {LinkKind.CUSTOMER: "Accounts", LinkKind.CONTACT: "Contacts"},
    Direction.PUSH: {LinkKind.CUSTOMER: "Customers", LinkKind.CONTACT: "Contact persons"},
}


def _counted(issue: IssueView) -> str:
    return _COUNTED[issue.direction].get(issue.kind, "Addresses")


def _tally(issues: Sequence[IssueView]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for issue in issues:
        counts[_counted(issue)] = counts.get(_counted(issue), 0) + 1
    return counts


def _phrase(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {what}" for what, n in counts.items())


@dataclass(frozen=True)
class CauseGroup:
    """One cause, the records it stops, and the follow-on records waiting on those."""

    cause: Cause
    issues: list[IssueView]
    followers: list[IssueView]

    @property
    def total(self) -> int:
        return len(self.issues) + len(self.followers)

    @property
    def counts(self) -> dict[str, int]:
        return _tally([*self.issues, *self.followers])

    @property
    def sentence(self) -> str:
        """"34 Accounts, 96 Contacts waiting on them"."""
        own = _phrase(_tally(self.issues))
        if not self.followers:
            return own
        waiting = f"{_phrase(_tally(self.followers))} waiting on them"
        return f"{own}, {waiting}" if own else waiting

    @property
    def slug(self) -> str:
        """The cause as a filter value: "invalid-data-currency-gbp"."""
        return "-".join(re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-")
                        for part in self.cause.key if part)[:80]

    @property
    def anchor(self) -> str:
        return f"cause-{self.slug}"

    def json(self) -> dict[str, Any]:
        c = self.cause
        return {"cause": self.slug, "code": c.code, "field": c.field, "value": c.value,
                "title": c.title,
                "fix": c.fix, "fix_link": c.fix_link, "total": self.total,
                "counts": self.counts, "sentence": self.sentence,
                "records": [{**i.json(), "follows_parent": i in self.followers}
                            for i in (*self.issues, *self.followers)]}



CAUSES_READ = 5000  # open issues grouped at once; more is a sync gone wrong, not a page


_ZOHO_TABS = {LinkKind.CUSTOMER: "Accounts", LinkKind.CONTACT: "Contacts"}


def crm_base(api_domain: str, zoho_org_id: str) -> str:
    """The org's own CRM web address, from its API domain: www.zohoapis.eu -> crm.zoho.eu
    (Zoho's data centres; Canada's is zohocloud.ca)."""
    web = (api_domain.replace("www.zohoapis.ca", "crm.zohocloud.ca")
           .replace("www.zohoapis.", "crm.zoho."))
    return f"{web.rstrip('/')}/crm/org{zoho_org_id}"


def _with_links(view: IssueView, base: str | None) -> IssueView:
    tab = _ZOHO_TABS.get(view.kind)
    if base is None or tab is None or not view.zoho_id:
        return view
    return replace(view, zoho_url=f"{base}/tab/{tab}/{view.zoho_id}")


def causes(session: Session, scope: SyncScope, zoho_base: str | None = None
           ) -> list[CauseGroup]:
    """Open issues grouped by cause, the largest first. A record waiting on an Account that
    has an open issue sits under that Account's cause (it is retried with it)."""
    views = [_with_links(v, zoho_base) for v in open_views(session, scope, CAUSES_READ)]
    account_cause: dict[str, Cause] = {}
    account_name: dict[str, str] = {}
    for view in views:
        if view.direction is Direction.PULL and view.kind is LinkKind.CUSTOMER and view.zoho_id:
            account_cause[view.zoho_id] = cause_of(view.code, view.field, view.message)
            if view.name:
                account_name[view.zoho_id] = view.name
    groups: dict[tuple[str, str, str], tuple[Cause, list[IssueView], list[IssueView]]] = {}
    for view in reversed(views):  # oldest first inside a cause
        parent = parent_of(view.code, view.message)
        followed = account_cause.get(parent) if parent else None
        cause = followed or cause_of(view.code, view.field, view.message)
        if parent is not None and parent in account_name:
            view = replace(view, parent_name=account_name[parent])
        _, own, followers = groups.setdefault(cause.key, (cause, [], []))
        (followers if followed else own).append(view)
    found = [CauseGroup(c, own, followers) for c, own, followers in groups.values()]
    return sorted(found, key=lambda g: -g.total)


# The filter's modules: what a record is, on either side.
MODULES = {"customers": "Customers (Accounts)", "contacts": "Contacts",
           "addresses": "Addresses"}
CAUSES_SHOWN = 20  # causes per page


def module_of(kind: LinkKind) -> str:
    """The filter's module of a record kind (a MODULES key)."""
    return {LinkKind.CUSTOMER: "customers", LinkKind.CONTACT: "contacts"}.get(kind, "addresses")


@dataclass(frozen=True)
class CauseFilter:
    """Which records the causes view shows: a direction, a module, one cause (its slug);
    None: any."""

    direction: Direction | None = None
    module: str | None = None
    cause: str | None = None

    def keeps(self, issue: IssueView) -> bool:
        return ((self.direction is None or issue.direction is self.direction)
                and (self.module is None or module_of(issue.kind) == self.module))


@dataclass(frozen=True)
class CausePage:
    """A page of causes after the filter, and every cause there is (the filter's choices)."""

    groups: list[CauseGroup]
    total: int  # causes the filter keeps, on every page
    records: int  # records of those causes
    offset: int
    next_offset: int | None
    choices: list[tuple[str, str]]  # (slug, title) of every open cause


def cause_page(groups: Sequence[CauseGroup], chosen: CauseFilter, offset: int = 0,
               limit: int = CAUSES_SHOWN) -> CausePage:
    """The causes `chosen` keeps, each with only its records `chosen` keeps (a cause left
    with none is dropped), the largest first, `limit` of them from `offset` (pure)."""
    kept = []
    for group in groups:
        if chosen.cause is not None and group.slug != chosen.cause:
            continue
        own = [i for i in group.issues if chosen.keeps(i)]
        followers = [i for i in group.followers if chosen.keeps(i)]
        if own or followers:
            kept.append(CauseGroup(group.cause, own, followers))
    kept.sort(key=lambda g: -g.total)
    offset = max(offset, 0)
    shown = kept[offset:offset + limit]
    more = offset + limit < len(kept)
    return CausePage(shown, len(kept), sum(g.total for g in kept), offset,
                     offset + limit if more else None,
                     [(g.slug, g.cause.title) for g in groups])


def retry_currency(session: Session, queue: JobQueue, organisation_id: int, code: str,
                   now: datetime, started_by: str | None = None) -> RetryOutcome:
    """The organisation trades in `code` now: the records waiting on it (and their follow-on
    records) are due at once and the pull is queued. Nothing when Zoho CRM is not connected."""
    found = repository.connection_of(session, organisation_id)
    if found is None or found.status != CONNECTED:
        return RetryOutcome()
    scope = SyncScope(organisation_id, found.id)
    ids = [i.id for group in causes(session, scope)
           if group.cause.field == CURRENCY and group.cause.value == code
           for i in (*group.issues, *group.followers)]
    return retry_ids(session, queue, scope, now, ids, started_by)


