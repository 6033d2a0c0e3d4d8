"""The sync tells the truth: Details states the last sync's state, time and counts and how many
records need attention; runs are labelled by kind; a finished job's toast gets the run's final
counts and a link to the status page, a failed one its reason."""

from __future__ import annotations

from datetime import timedelta

from alix.integrations.zoho_crm.sync.engine.runs import PULL_TASK
from alix.jobs.tables import DONE, FAILED, Job
from tests.integration.sync_status.conftest import Synced

DETAILS = "/settings/integrations/zoho-crm"
PAGE = "/settings/integrations/zoho-crm/sync"


def _rejected_account_with_contact(synced: Synced) -> None:
    [account] = synced.zoho("Accounts", {"Account_Name": "Pounds Ltd", "Currency": "GBP"})
    synced.zoho("Contacts", {"Last_Name": "Smith", "Account_Name": {"id": account}})


def test_details_states_the_last_sync_its_counts_and_what_needs_attention(
        synced: Synced) -> None:
    synced.zoho("Accounts", {"Account_Name": "Good Co", "Currency": "CAD"})
    _rejected_account_with_contact(synced)
    synced.pull(initial=True)
    text = synced.http.get(DETAILS).text
    assert "No sync yet" not in text and "every record in sync" not in text
    assert "Last sync (initial synchronization): 2026-03-01 12:00 UTC, succeeded" in text
    assert "1 created" in text and "1 rejected" in text
    assert "2 records need attention" in text


def test_runs_are_labelled_by_their_kind(synced: Synced) -> None:
    synced.pull(initial=True)
    synced.zoho("Accounts", {"Account_Name": "Later Co", "Currency": "CAD"})
    synced.pull()
    text = synced.http.get(PAGE).text
    assert text.count("Initial synchronization") == 1
    assert "Incremental (Zoho → ALIX)" in text


def _job(synced: Synced, status: str, error: str | None = None) -> int:
    with synced.container.session_factory.begin() as s:
        job = Job(organisation_id=synced.scope.organisation_id, task=PULL_TASK,
                  payload={"connection_id": synced.scope.connection_id, "initial": True},
                  status=status, run_after=synced.clock(), created_at=synced.clock(),
                  started_at=synced.clock() - timedelta(seconds=1),
                  finished_at=synced.clock() + timedelta(seconds=5), error=error,
                  progress_message="Zoho CRM sync: Billing_Addresses, 3 records/s")
        s.add(job)
        s.flush()
        return int(job.id)


def test_a_finished_sync_job_reports_its_final_counts_and_links_to_the_status_page(
        synced: Synced) -> None:
    synced.zoho("Accounts", {"Account_Name": "Good Co", "Currency": "CAD"})
    _rejected_account_with_contact(synced)
    job_id = _job(synced, DONE)
    synced.pull(initial=True)
    answer = synced.http.get(f"/api/v1/jobs/{job_id}", headers=synced.api()).json()
    assert answer["status"] == "done"
    assert answer["title"] == "Zoho CRM synchronization"
    outcome = answer["outcome"]
    assert outcome["link"] == PAGE
    assert outcome["summary"].startswith("Initial synchronization succeeded: 1 created")
    assert "1 rejected" in outcome["summary"] and "Billing_Addresses" not in outcome["summary"]
    assert outcome["attention"] == 2


def test_a_failed_sync_job_reports_failure_with_its_reason(synced: Synced) -> None:
    job_id = _job(synced, FAILED, "Traceback (most recent call last):\n  File x\n"
                  "ZohoUnavailable: Zoho CRM did not answer.")
    answer = synced.http.get(f"/api/v1/jobs/{job_id}", headers=synced.api()).json()
    assert answer["status"] == "failed"
    assert answer["error"].endswith("Zoho CRM did not answer.")
    assert answer["outcome"]["link"] == PAGE

