"""The toast of a sync tells how it ended: a failed sync shows as failed, in the error style,
with its reason and where to look, never as a green "Finished"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import update

from alix.integrations.zoho_crm.sync.engine.runs import PULL_TASK
from alix.integrations.zoho_crm.sync.store import runs
from alix.jobs.tables import FAILED, RUNNING, Job
from tests.browser.conftest import log_in, screenshot
from tests.integration.sync_status.conftest import connect_org
from tests.live import LiveServer, serve_alix
from tests.unit.sync.configuration import T0

REASON = "Zoho CRM refused ALIX's access token: reconnect Zoho CRM on Settings -> Integration."


@pytest.fixture
def alix(tmp_path: Path) -> Iterator[LiveServer]:
    # No job runner: the test plays the job's life itself.
    with serve_alix(tmp_path / "toast.db", run_jobs_in_process=False) as server:
        yield server


def test_a_failed_sync_shows_as_failed_with_its_reason(browser: Browser, alix: LiveServer
                                                        ) -> None:
    with alix.container.session_factory.begin() as session:
        scope = connect_org(session, alix.admin.organisation_id)
        job = Job(organisation_id=scope.organisation_id, task=PULL_TASK,
                  payload={"connection_id": scope.connection_id, "initial": True},
                  status=RUNNING, run_after=T0, created_at=T0, started_at=T0,
                  progress_done=200, progress_total=1021,
                  progress_message="Zoho CRM sync: Accounts, 146 records/s, about 5 s left")
        session.add(job)
        session.flush()
        job_id = job.id
        run = runs.start_run(session, scope, runs.RunKind.INITIAL, 1, T0)
        runs.record_progress(session, scope, run, counts={"created": 200})
    context = browser.new_context(base_url=alix.base_url, viewport={"width": 1280, "height": 700})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    log_in(tab, alix.admin)
    expect(tab.locator(".toast .label")).to_contain_text("146 records/s, about 5 s left")

    with alix.container.session_factory.begin() as session:
        runs.finish_run(session, scope, run, runs.RunStatus.FAILED, T0.replace(minute=1),
                        error=REASON)
        session.execute(update(Job).where(Job.id == job_id).values(
            status=FAILED, error=f"Traceback (most recent call last):\nAuthenticationFailed: "
                                 f"{REASON}"))
    failed = tab.locator('.toast[data-job-result="failed"]')
    expect(failed).to_have_class("toast toast-error")
    expect(failed).to_contain_text(f"Zoho CRM synchronization failed: {REASON}")
    expect(failed).to_contain_text("the next run resumes where it stopped")
    expect(failed.get_by_role("link", name="Details")).to_have_attribute(
        "href", "/settings/integrations/zoho-crm/sync")
    expect(tab.get_by_text("Finished")).to_have_count(0)
    screenshot(tab, "zoho-sync-failed-toast")
    context.close()
