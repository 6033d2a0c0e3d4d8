"""A push that sends ALIX changes records a run: "Push (ALIX → Zoho)" on the status page and in
the runs API, with its counts and who made the change; a push with nothing to send records
none; Details' "Last sync" keeps describing the last pull."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from alix.customers.domain import Actor, NewCustomer, Origin
from alix.customers.service import create_customers, update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client.errors import ServerError
from alix.integrations.zoho_crm.sync.engine.push import PUSH_TASK, PushReport, push
from alix.integrations.zoho_crm.sync.engine.runs import PULL_TASK
from alix.jobs.tables import DONE, Job
from tests.integration.sync_status.conftest import Synced
from tests.support import Account

DETAILS = "/settings/integrations/zoho-crm"
PAGE = "/settings/integrations/zoho-crm/sync"
API = "/api/v1/integrations/zoho-crm/sync"


def _admin(synced: Synced) -> Actor:
    return Actor(synced.scope.organisation_id, synced.admin.user_id, Origin.USER)


def _create(synced: Synced, *names: str) -> list[int]:
    with unit_of_work(synced.container.session_factory) as session:
        return create_customers(session, _admin(synced), [
            NewCustomer({"name": name, "currency": "CAD"}) for name in names],
            clock=synced.clock)


def _push(synced: Synced) -> PushReport:
    synced.clock.advance(1)
    return asyncio.run(push(synced.ctx))


def _runs(synced: Synced) -> list[dict[str, object]]:
    answer = synced.http.get(f"{API}/runs", headers=synced.api())
    assert answer.status_code == 200, answer.text
    runs: list[dict[str, object]] = answer.json()["runs"]
    return runs


def test_a_push_of_an_alix_change_is_a_push_run_with_its_counts(synced: Synced) -> None:
    synced.zoho("Accounts", {"Account_Name": "Good Co", "Currency": "CAD"})
    synced.pull(initial=True)
    acme, _globex = _create(synced, "Acme", "Globex")
    _push(synced)
    # Zoho locks Acme's Account: its next update is refused, Initech's create goes through.
    [account] = [a for a in synced.crm.records["Accounts"].values()
                 if a["Account_Name"] == "Acme"]
    account["Locked__s"] = True
    _create(synced, "Initech")
    with unit_of_work(synced.container.session_factory) as session:
        update_customer(session, _admin(synced), acme, {"phone": "514 555 0101"},
                        clock=synced.clock)
    _push(synced)

    runs = _runs(synced)
    assert [r["kind"] for r in runs] == ["push", "push", "initial"]
    latest, first = runs[0], runs[1]
    assert first["counts"] == {"created": 2}, first
    assert latest["counts"] == {"created": 1, "rejected": 1}, latest
    assert latest["status"] == "succeeded" and latest["finished_at"] is not None
    assert latest["started_by"] == "admin <admin@acme.example>"
    assert latest["kind_label"] == "Push (ALIX → Zoho)"

    page = synced.http.get(PAGE).text
    push_rows = re.findall(r'<tr data-run="\d+">.*?</tr>', page, re.S)
    assert len(push_rows) == 3
    assert 'data-run-kind="push"' in push_rows[0] and "created 1 · rejected 1" in push_rows[0]
    assert "Started by admin &lt;admin@acme.example&gt;" in push_rows[0]

    # Details' "Last sync" is the last pull's, whatever pushed since.
    details = synced.http.get(DETAILS).text
    assert "Last sync (initial synchronization): 2026-03-01 12:00 UTC, succeeded" in details


def test_a_push_with_nothing_to_send_records_no_run(synced: Synced) -> None:
    synced.pull(initial=True)
    report = _push(synced)
    assert report.records == 0
    assert [r["kind"] for r in _runs(synced)] == ["initial"]
    _create(synced, "Acme")
    _push(synced)
    _push(synced)  # Acme is in Zoho now: nothing left to send
    assert [r["kind"] for r in _runs(synced)] == ["push", "initial"]


def test_a_push_of_several_peoples_changes_is_started_by_an_alix_change(
        synced: Synced, member: Account) -> None:
    synced.pull(initial=True)
    with unit_of_work(synced.container.session_factory) as session:
        create_customers(session, Actor(synced.scope.organisation_id, member.user_id,
                                        Origin.USER),
                         [NewCustomer({"name": "Acme", "currency": "CAD"})],
                         clock=synced.clock)
    _create(synced, "Globex")  # and one by the admin: no one person's push
    _push(synced)
    [pushed, _initial] = _runs(synced)
    assert pushed["started_by"] == "ALIX change"
    assert pushed["started_by_label"] == "Started by an ALIX change"


def test_a_push_job_toast_reports_its_run_and_a_pull_job_toast_its_pull(
        synced: Synced) -> None:
    synced.zoho("Accounts", {"Account_Name": "Good Co", "Currency": "CAD"})
    pulled = _job(synced, PULL_TASK, seconds=5)
    synced.pull(initial=True)
    _create(synced, "Acme")
    pushed = _job(synced, PUSH_TASK, seconds=5)
    _push(synced)

    def outcome(job_id: int) -> dict[str, object]:
        answer = synced.http.get(f"/api/v1/jobs/{job_id}", headers=synced.api()).json()
        found: dict[str, object] = answer["outcome"]
        return found

    assert outcome(pushed)["summary"] == "Push (ALIX → Zoho) succeeded: 1 created"
    assert str(outcome(pulled)["summary"]).startswith("Initial synchronization succeeded")


def _job(synced: Synced, task: str, *, seconds: int) -> int:
    """A finished job of the connection that ran for the next `seconds` (its run in them)."""
    with synced.container.session_factory.begin() as s:
        job = Job(organisation_id=synced.scope.organisation_id, task=task,
                  payload={"connection_id": synced.scope.connection_id},
                  status=DONE, run_after=synced.clock(), created_at=synced.clock(),
                  started_at=synced.clock(),
                  finished_at=synced.clock() + timedelta(seconds=seconds))
        s.add(job)
        s.flush()
        return int(job.id)


def test_a_push_stopped_by_zoho_is_a_failed_run_with_what_it_sent(synced: Synced) -> None:
    synced.pull(initial=True)
    [acme] = _create(synced, "Acme")
    _push(synced)
    _create(synced, "Globex")  # created first, then Zoho stops answering Acme's update
    with unit_of_work(synced.container.session_factory) as session:
        update_customer(session, _admin(synced), acme, {"phone": "514 555 0101"},
                        clock=synced.clock)

    async def down(module: str, records: object, **_kw: object) -> object:
        raise ServerError("Zoho CRM did not answer.")

    synced.crm.update = down  # type: ignore[assignment,method-assign]
    with pytest.raises(ServerError):
        _push(synced)
    failed = _runs(synced)[0]
    assert (failed["kind"], failed["status"]) == ("push", "failed")
    assert "Zoho CRM did not answer" in str(failed["error"])
    assert failed["counts"] == {"created": 1}, failed
