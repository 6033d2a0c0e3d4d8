"""Issues: a repeat updates the open issue, retries come due, resolving closes them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.link import Link
from alix.integrations.zoho_crm.sync.store import issues as store
from alix.integrations.zoho_crm.sync.store import links
from alix.integrations.zoho_crm.sync.store.issues import Direction, IssueStatus, Report
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_issues

from .conftest import NOW

REJECTED = Report(
    Direction.PUSH, LinkKind.CONTACT, "MANDATORY_NOT_FOUND",
    "Zoho rejected contact 4876876000000123: MANDATORY_NOT_FOUND Last_Name",
    alix_id=7, zoho_id="4876876000000123", field="Last_Name",
    details={"api_name": "Last_Name"},
)


def _rows(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(zoho_sync_issues)).scalar_one())


def test_a_repeated_error_counts_attempts_on_one_open_issue(session: Session,
                                                            scope: SyncScope) -> None:
    first = store.record_issue(session, scope, REJECTED, NOW)
    assert (first.attempts, first.status, first.next_retry_at) == (
        1, IssueStatus.OPEN, NOW + timedelta(minutes=1))
    again = store.record_issue(session, scope, REJECTED, NOW + timedelta(minutes=1))
    third = store.record_issue(session, scope, REJECTED, NOW + timedelta(minutes=3))
    session.commit()
    assert again.id == third.id == first.id
    assert third.attempts == 3
    assert third.next_retry_at == NOW + timedelta(minutes=3 + 4)
    assert third.created_at == NOW and third.updated_at == NOW + timedelta(minutes=3)
    assert third.message == REJECTED.message and third.details == {"api_name": "Last_Name"}
    assert _rows(session) == 1
    # Another code, field or record is another issue.
    store.record_issue(session, scope, Report(**{**REJECTED.__dict__, "code": "INVALID_DATA"}),
                       NOW)
    store.record_issue(session, scope, Report(**{**REJECTED.__dict__, "field": "Email"}), NOW)
    store.record_issue(session, scope, Report(**{**REJECTED.__dict__, "alix_id": 8}), NOW)
    session.commit()
    assert store.count_open_issues(session, scope) == 4


def test_without_retry_an_issue_waits_for_a_person(session: Session, scope: SyncScope) -> None:
    conflict = Report(Direction.PULL, LinkKind.CUSTOMER, "conflict",
                      "Both ALIX and Zoho changed Phone of customer Acme.", alix_id=1,
                      zoho_id="100", field="Phone")
    issue = store.record_issue(session, scope, conflict, NOW, retry=False)
    assert issue.next_retry_at is None
    assert store.issues_due(session, scope, NOW + timedelta(days=1)) == []


def test_due_retries_and_resolution(session: Session, scope: SyncScope,
                                    other: SyncScope) -> None:
    soon = store.record_issue(session, scope, REJECTED, NOW)
    late = store.record_issue(session, scope, Report(**{**REJECTED.__dict__, "alix_id": 8}), NOW,
                              wait=lambda attempts: timedelta(hours=attempts))
    store.record_issue(session, other, REJECTED, NOW)
    session.commit()
    assert [i.id for i in store.issues_due(session, scope, NOW + timedelta(minutes=1))] == [
        soon.id]
    assert [i.id for i in store.issues_due(session, scope, NOW + timedelta(hours=1))] == [
        soon.id, late.id]

    assert store.resolve_record(session, scope, Direction.PUSH, LinkKind.CONTACT,
                                NOW, alix_id=7) == 1
    assert not store.resolve_issue(session, scope, soon.id, NOW)  # already resolved
    assert store.resolve_issue(session, scope, late.id, NOW)
    assert not store.resolve_issue(session, other, late.id, NOW)  # not the other's
    session.commit()
    assert store.open_issues(session, scope) == []
    assert store.count_open_issues(session, other) == 1
    # Once resolved, the same problem opens a new issue counting from one.
    reopened = store.record_issue(session, scope, REJECTED, NOW + timedelta(hours=2))
    assert reopened.id != soon.id and reopened.attempts == 1


def test_resolve_record_by_zoho_id_and_codes(session: Session, scope: SyncScope) -> None:
    pull = Report(Direction.PULL, LinkKind.CUSTOMER, "ambiguous",
                  "Two ALIX customers are named Acme: link Zoho account 100 by hand.",
                  zoho_id="100")
    store.record_issue(session, scope, pull, NOW)
    store.record_issue(session, scope, Report(**{**pull.__dict__, "code": "skipped"}), NOW)
    assert store.resolve_record(session, scope, Direction.PULL, LinkKind.CUSTOMER, NOW,
                                zoho_id="100", codes=["skipped"]) == 1
    assert store.resolve_record(session, scope, Direction.PULL, LinkKind.CUSTOMER, NOW) == 0
    assert [i.code for i in store.open_issues(session, scope)] == ["ambiguous"]


def test_open_issues_page_newest_first(session: Session, scope: SyncScope) -> None:
    made = [store.record_issue(session, scope, Report(**{**REJECTED.__dict__, "alix_id": n}),
                               NOW) for n in range(5)]
    session.commit()
    first = store.open_issues(session, scope, limit=2)
    second = store.open_issues(session, scope, limit=2, before_id=first[-1].id)
    third = store.open_issues(session, scope, limit=2, before_id=second[-1].id)
    assert [i.id for i in first + second + third] == [i.id for i in reversed(made)]


def test_a_new_account_link_makes_the_records_waiting_for_it_due(
    session: Session, scope: SyncScope, other: SyncScope
) -> None:
    def waiting(at: SyncScope, contact: str, account: str) -> int:
        return store.record_issue(session, at, Report(
            Direction.PULL, LinkKind.CONTACT, store.PARENT_MISSING,
            f"Zoho Contacts record {contact} is not imported: its Account {account} is not "
            "imported into ALIX.", zoho_id=contact, details={"account": account}),
            NOW, wait=lambda _attempts: timedelta(hours=1)).id

    waits = waiting(scope, "c1", "a1")
    waiting(scope, "c2", "a2")
    waiting(other, "c3", "a1")
    later = NOW + timedelta(minutes=5)
    links.create_links(session, scope, "Accounts", [Link(LinkKind.CUSTOMER, 1, "a1")], later)
    session.commit()
    # Only the Contact of the linked Account, in this connection, is due before its hour.
    assert [i.id for i in store.issues_due(session, scope, later)] == [waits]
    assert store.issues_due(session, other, later) == []
