"""A person settles an open conflict: one value written to both sides at once.

The conflict issue names the record (kind, ALIX id, Zoho id) and the field; the person picks
the value (ALIX's, Zoho's, or another). Zoho is written first, by id, only that field; once it
accepted, ALIX is written as the sync actor (so the push has no echo to send), the link's base
takes the value, and the issue is resolved with who decided what. A Zoho refusal leaves
everything as it was and says why; a replay writes the same value again and changes nothing.
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import select

from alix.customers import bulk
from alix.customers.contacts import move_contact
from alix.customers.fields import Entity
from alix.db.session import unit_of_work
from alix.errors import Conflict, NotFound
from alix.integrations.zoho_crm.client.wire import WriteFailure
from alix.integrations.zoho_crm.sync.kinds import ACCOUNT, LinkKind
from alix.integrations.zoho_crm.sync.link import Link
from alix.integrations.zoho_crm.sync.mapping import crm_module, read_only_fields, to_crm
from alix.integrations.zoho_crm.sync.normalize import SyncValue
from alix.integrations.zoho_crm.sync.store import issues as issue_store
from alix.integrations.zoho_crm.sync.store.issues import Issue, IssueStatus
from alix.integrations.zoho_crm.sync.store.links import (
    links_by_alix_ids,
    links_by_zoho_ids,
    update_bases,
)
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_issues

from .apply import _alix_values
from .context import CrmFactory, SyncContext, open_context
from .pull_issues import CONFLICT

_WRITERS = {Entity.CUSTOMER: bulk.update_customers, Entity.CONTACT: bulk.update_contacts,
            Entity.ADDRESS: bulk.update_addresses}


def _open_conflict(ctx: SyncContext, issue_id: int) -> tuple[Issue, Link, bool]:
    """The open conflict issue, its live link, and whether other conflicts of the record
    stay open after this one."""
    with unit_of_work(ctx.sessions) as session:
        issue = issue_store.get_issue(session, ctx.scope, issue_id)
        if issue is None or issue.status is not IssueStatus.OPEN or issue.code != CONFLICT:
            raise NotFound(f"No open conflict {issue_id}: it was settled already or belongs "
                           "to another organisation.")
        if issue.alix_id is None or issue.field is None:
            raise Conflict(f"Conflict {issue_id} names no ALIX record and field.")
        link = links_by_alix_ids(session, ctx.scope, [issue.kind], [issue.alix_id]).get(
            (issue.kind, issue.alix_id))
        others = session.execute(select(zoho_sync_issues.c.id).where(
            zoho_sync_issues.c.connection_id == ctx.scope.connection_id,
            zoho_sync_issues.c.status == IssueStatus.OPEN.value,
            zoho_sync_issues.c.code == CONFLICT,
            zoho_sync_issues.c.kind == issue.kind.value,
            zoho_sync_issues.c.alix_id == issue.alix_id,
            zoho_sync_issues.c.id != issue_id,
        )).first() is not None
    if link is None or link.tombstoned:
        raise Conflict(f"ALIX {issue.kind.entity.value} {issue.alix_id} is no longer synced "
                       "with Zoho: dismiss the conflict instead.")
    return issue, link, others


def _target_customer(ctx: SyncContext, account: SyncValue) -> int:
    """The ALIX customer of a Zoho Account a contact is to belong to; Conflict when none."""
    with unit_of_work(ctx.sessions) as session:
        link = links_by_zoho_ids(session, ctx.scope, [LinkKind.CUSTOMER], [str(account)]).get(
            (LinkKind.CUSTOMER, str(account)))
    if account is None or link is None or link.tombstoned:
        raise Conflict(f"Zoho Account {account} is not synced with an ALIX customer: the "
                       "contact cannot belong to it in ALIX.")
    return link.alix_id


async def resolve_conflict(ctx: SyncContext, issue_id: int, value: SyncValue, *,
                           by: str) -> None:
    """Write `value` (canonical ALIX form) as the field's value on both sides and close the
    conflict, journaling who decided. Raises NotFound for a conflict that is not open,
    Conflict when Zoho refuses the value (nothing is changed then)."""
    issue, link, others = _open_conflict(ctx, issue_id)
    name = str(issue.field)
    if name in read_only_fields(ctx.config, issue.kind):
        raise Conflict(f"{name} is read-only in Zoho CRM: it cannot be written there.")
    module = crm_module(ctx.config, issue.kind) or ""
    target = _target_customer(ctx, value) if name == ACCOUNT else None
    payload = to_crm(issue.kind, {name: value}, ctx.config) | {"id": link.zoho_id}
    [result] = await ctx.crm.update(module, [payload])
    if isinstance(result, WriteFailure):
        raise Conflict(f"Zoho refused {value!r} for {name} of record {link.zoho_id}: "
                       f"{result.error.code} {result.error.message}")
    with unit_of_work(ctx.sessions) as session:
        now = ctx.clock()
        version: int | None
        if target is not None:  # the contact's Account: the contact moves to its customer
            version = move_contact(session, ctx.actor, int(issue.alix_id or 0), target,
                                   clock=lambda: now).version
        else:
            write = _WRITERS[issue.kind.entity]
            [written] = write(session, ctx.actor, [bulk.RecordUpdate(
                int(issue.alix_id or 0), _alix_values({name: value}))], clock=lambda: now)
            if not written.ok:
                raise Conflict(f"ALIX refused {value!r} for {name}: {written.errors}")
            version = written.version
        # Another open conflict of the record keeps the old Modified_Time, so the push still
        # merges before it writes (as push_merge does for open conflicts).
        modified = link.base_modified_time if others else result.modified_time
        update_bases(session, ctx.scope, [Link(
            link.kind, link.alix_id, link.zoho_id, dict(link.base) | {name: value}, modified,
            version)], now)
        details: dict[str, Any] = dict(issue.details or {})
        details |= {"winner": "person", "value": value, "resolved_by": by}
        session.execute(zoho_sync_issues.update().where(zoho_sync_issues.c.id == issue_id)
                        .values(details=details))
        issue_store.resolve_issue(session, ctx.scope, issue_id, now)


class Keep(enum.StrEnum):
    """Which side's value a person keeps (the values the conflict recorded)."""

    ALIX = "alix"
    ZOHO = "zoho"


async def keep_side(sessions: Any, crm_factory: CrmFactory, clock: Any, connection_id: int,
                    issue_id: int, keep: Keep, *, by: str) -> SyncValue:
    """Settle the conflict with the value one side holds (as the conflict recorded it);
    returns the value written."""
    async with open_context(sessions, connection_id, crm_factory, clock, on_lane=True) as ctx:
        with unit_of_work(ctx.sessions) as session:
            issue = issue_store.get_issue(session, ctx.scope, issue_id)
        details = dict(issue.details or {}) if issue is not None else {}
        value = details.get("alix" if keep is Keep.ALIX else "crm")
        await resolve_conflict(ctx, issue_id, value, by=by)
    return value
