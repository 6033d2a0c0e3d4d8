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
from .model import CONNECTED
from .status import IssueView, RetryOutcome, open_views, retry_ids
from .sync.kinds import LinkKind
from .sync.store.issues import Direction
from .sync.store.scope import SyncScope

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
        return f"{own}, {_phrase(_tally(self.followers))} waiting on them" if self.followers \
            else own

    @property
    def anchor(self) -> str:
        return "cause-" + "-".join(re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-")
                                   for part in self.cause.key if part)[:80]

    def json(self) -> dict[str, Any]:
        c = self.cause
        return {"code": c.code, "field": c.field, "value": c.value, "title": c.title,
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


def retry_currency(session: Session, queue: JobQueue, organisation_id: int, code: str,
                   now: datetime) -> RetryOutcome:
    """The organisation trades in `code` now: the records waiting on it (and their follow-on
    records) are due at once and the pull is queued. Nothing when Zoho CRM is not connected."""
    found = repository.connection_of(session, organisation_id)
    if found is None or found.status != CONNECTED:
        return RetryOutcome()
    scope = SyncScope(organisation_id, found.id)
    ids = [i.id for group in causes(session, scope)
           if group.cause.field == CURRENCY and group.cause.value == code
           for i in (*group.issues, *group.followers)]
    return retry_ids(session, queue, scope, now, ids)


