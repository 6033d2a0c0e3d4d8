"""Synchronization status: the page and the REST API list the runs and the rejected records;
Retry makes a record due and queues its job; once the cause is fixed a run imports it and the
issue disappears; Dismiss resolves it; members and other organisations are refused."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from alix.customers import outbox
from alix.customers.domain import Actor, NewCustomer, Origin
from alix.customers.service import create_customers
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.sync.engine.context import lane_key
from alix.integrations.zoho_crm.sync.engine.push import PUSH_TASK
from alix.integrations.zoho_crm.sync.engine.runs import PULL_TASK
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.store import issues
from alix.jobs.tables import QUEUED, Job
from tests.integration.sync_status.conftest import Synced, connect_org
from tests.support import Account, login

PAGE = "/settings/integrations/zoho-crm/sync"
API = "/api/v1/integrations/zoho-crm/sync"


def _rejected(synced: Synced, name: str = "Pounds Ltd") -> str:
    """An Account in a currency the organisation does not trade in: rejected, an issue."""
    [zoho_id] = synced.zoho("Accounts", {"Account_Name": name, "Currency": "GBP"})
    return zoho_id


def test_the_page_lists_the_rejected_record_and_retry_imports_it_once_fixed(
        synced: Synced) -> None:
    synced.zoho("Accounts", {"Account_Name": "Good Co", "Currency": "CAD"})
    bad = _rejected(synced)
    synced.pull(initial=True)
    [issue] = synced.issues()

    page = synced.http.get(PAGE)
    assert page.status_code == 200, page.text
    assert "GBP is not one of your organisation&#39;s currencies" in page.text
    assert bad in page.text and "Zoho → ALIX" in page.text
    assert "Initial synchronization" in page.text and "Succeeded" in page.text
    details = synced.http.get("/settings/integrations/zoho-crm")
    assert "1 record needs attention" in details.text

    synced.clock.advance(60)
    done = synced.post(f"{PAGE}/issues/{issue.id}/retry")
    assert "Retrying 1 record now" in done.text
    [due] = synced.issues()
    assert due.next_retry_at == synced.clock()
    synced.post(f"{PAGE}/issues/retry")  # Retry all: the pull already waits, no second one
    [job] = synced.jobs(PULL_TASK)
    assert (job.status, job.lease_key) == (QUEUED, lane_key(synced.scope.connection_id))
    assert job.payload == {"connection_id": synced.scope.connection_id, "initial": False,
                           "started_by": "admin <admin@acme.example>"}

    synced.pull()  # still rejected: the issue stays, one more attempt
    [still] = synced.issues()
    assert still.attempts == 2

    synced.add_currency("GBP")  # the cause is fixed in ALIX, nothing changed in Zoho
    synced.post(f"{PAGE}/issues/{issue.id}/retry")
    synced.pull()  # what the queued job runs
    assert synced.issues() == []
    page = synced.http.get(PAGE)
    assert "Every record is in sync" in page.text
    assert "created 1" in page.text


def test_dismiss_resolves_the_issue_and_says_who(synced: Synced) -> None:
    _rejected(synced)
    synced.pull(initial=True)
    [issue] = synced.issues()
    done = synced.post(f"{PAGE}/issues/{issue.id}/dismiss")
    assert "You dismissed the issue" in done.text
    assert synced.issues() == []
    [resolved] = synced.issues("resolved")
    assert resolved.details["dismissed_by"]
    again = synced.post(f"{PAGE}/issues/{issue.id}/dismiss")
    assert f"No open synchronization issue {issue.id}" in again.text


def test_rest_lists_runs_and_pages_issues_retries_and_dismisses(synced: Synced) -> None:
    names = ["One", "Two", "Three"]
    for name in names:
        _rejected(synced, name)
    synced.pull(initial=True)
    headers = synced.api()
    runs = synced.http.get(f"{API}/runs", headers=headers).json()["runs"]
    assert [r["kind"] for r in runs] == ["initial"] and runs[0]["counts"]["rejected"] == 3
    first = synced.http.get(f"{API}/issues?limit=2", headers=headers).json()
    assert first["total"] == 3 and len(first["issues"]) == 2 and first["next_cursor"]
    rest = synced.http.get(f"{API}/issues?limit=2&cursor={first['next_cursor']}",
                           headers=headers).json()
    ids = [i["id"] for i in first["issues"] + rest["issues"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3 and rest["next_cursor"] is None
    assert first["issues"][0]["direction"] == "pull" and "GBP" in first["issues"][0]["message"]

    answer = synced.http.post(f"{API}/issues/{ids[0]}/retry", headers=headers)
    assert answer.status_code == 202 and answer.json() == {"retried": 1, "jobs": ["pull"]}
    every = synced.http.post(f"{API}/issues/retry", headers=headers).json()
    assert every["retried"] == 3
    assert len(synced.jobs(PULL_TASK)) == 1
    gone = synced.http.post(f"{API}/issues/{ids[1]}/dismiss", headers=headers)
    assert gone.status_code == 200 and gone.json()["status"] == "resolved"
    assert synced.http.post(f"{API}/issues/{ids[1]}/dismiss",
                            headers=headers).status_code == 404


def test_members_and_other_organisations_are_refused(
        synced: Synced, client: TestClient, member: Account, other_org_admin: Account) -> None:
    _rejected(synced)
    synced.pull(initial=True)
    [issue] = synced.issues()
    with synced.container.session_factory.begin() as session:
        connect_org(session, other_org_admin.organisation_id)

    login(client, other_org_admin)
    headers = synced.api()
    for path in (f"{API}/issues/{issue.id}/retry", f"{API}/issues/{issue.id}/dismiss"):
        assert client.post(path, headers=headers).status_code == 404
    assert client.get(f"{API}/issues", headers=headers).json()["issues"] == []
    assert "Every record is in sync" in client.get(PAGE).text

    login(client, member)
    headers = synced.api()
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{API}/issues", headers=headers).status_code == 403
    assert client.post(f"{API}/issues/{issue.id}/retry", headers=headers).status_code == 403
    [untouched] = synced.issues()
    assert untouched.attempts == 1 and synced.jobs(PULL_TASK) == []


def test_retry_of_a_push_issue_sends_the_record_again(synced: Synced) -> None:
    """A record Zoho refused and the push gave up on (its outbox row `failed`): Retry now makes
    the row pending and due, lists the customer by name, and queues one push on the lane."""
    org = synced.scope.organisation_id
    actor = Actor(org, synced.admin.user_id, Origin.USER)
    with unit_of_work(synced.container.session_factory) as session:
        [customer] = create_customers(session, actor, [NewCustomer({"name": "Initech",
                                                                    "currency": "CAD"})],
                                      clock=synced.clock)
    [queued] = synced.jobs(PUSH_TASK)  # the change itself queued the push
    with synced.container.session_factory.begin() as session:
        session.execute(delete(Job).where(Job.id == queued.id))  # ...which ran and failed it
        [row] = outbox.entries(session, org, status=None)
        outbox.mark_failed(session, org, [outbox.Failure([row.id], "locked", None)],
                           synced.clock())
        issues.record_issue(session, synced.scope, issues.Report(
            issues.Direction.PUSH, LinkKind.CUSTOMER, "RECORD_LOCKED",
            f"Zoho refused to update ALIX customer {customer}: RECORD_LOCKED.",
            alix_id=customer, zoho_id="5725767000004100009"), synced.clock(), retry=False)

    page = synced.http.get(PAGE).text
    assert f'<a href="/customers/{customer}">Initech</a>' in page
    assert "ALIX → Zoho" in page and "When you retry or it changes" in page
    [issue] = synced.issues()
    done = synced.post(f"{PAGE}/issues/{issue.id}/retry")
    assert "the ALIX → Zoho synchronization is queued" in done.text
    synced.post(f"{PAGE}/issues/retry")
    with Session(synced.container.engine) as session:
        [row] = outbox.entries(session, org, status=None)
    assert (row.status, row.retry_at) == (outbox.PENDING, synced.clock())
    [job] = synced.jobs(PUSH_TASK)
    assert (job.status, job.lease_key) == (QUEUED, lane_key(synced.scope.connection_id))
