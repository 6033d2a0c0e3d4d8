"""The sync's status in chromium: Details links to the records that need attention; the page
shows the rejected record with its reason; Retry all says what it did."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.store import issues, runs
from tests.browser.conftest import log_in, screenshot
from tests.integration.sync_status.conftest import connect_org
from tests.live import serve_alix
from tests.unit.sync.configuration import T0

REASON = ("Zoho CRM Account 5725767000004100002 was not imported: GBP is not one of your "
          "organisation's currencies (CAD, USD, EUR).")


@pytest.fixture
def tab(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    # No job runner: the queued pull stays queued (this app has no Zoho to talk to).
    with serve_alix(tmp_path / "status.db", run_jobs_in_process=False) as server:
        with server.container.session_factory.begin() as session:
            scope = connect_org(session, server.admin.organisation_id)
            run = runs.start_run(session, scope, runs.RunKind.INITIAL, 1, T0)
            runs.record_progress(session, scope, run, counts={"created": 41, "rejected": 1})
            runs.finish_run(session, scope, run, runs.RunStatus.SUCCEEDED, T0.replace(minute=3))
            issues.record_issue(session, scope, issues.Report(
                issues.Direction.PULL, LinkKind.CUSTOMER, "rejected", REASON,
                zoho_id="5725767000004100002"), T0)
        context = browser.new_context(base_url=server.base_url,
                                      viewport={"width": 1280, "height": 860})
        context.set_default_timeout(10_000)
        # Its first load of the settings page passed 10 s twice while the suite loaded both
        # cores (it takes under a second alone): the page is checked, not the machine.
        context.set_default_navigation_timeout(30_000)
        page = context.new_page()
        log_in(page, server.admin)
        yield page
        context.close()


def test_see_the_rejected_record_and_retry_all(tab: Page) -> None:
    tab.goto("/settings/integrations/zoho-crm")
    link = tab.locator("[data-sync-status]")
    expect(link).to_contain_text("1 record needs attention")
    link.click()
    tab.wait_for_url("**/settings/integrations/zoho-crm/sync")
    row = tab.locator("tr[data-issue]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("GBP is not one of your organisation's currencies")
    expect(row).to_contain_text("Zoho → ALIX")
    expect(tab.locator("tr[data-run]")).to_contain_text("Initial synchronization")
    expect(tab.locator("tr[data-run]")).to_contain_text("3 min 0 s")

    tab.get_by_role("button", name="Retry all (1)").focus()
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    expect(tab.locator(".flash-success")).to_contain_text(
        "Retrying 1 record now: the Zoho → ALIX synchronization is queued")
    expect(tab.locator("tr[data-issue]")).to_have_count(1)  # gone once a run imports it
    screenshot(tab, "zoho-sync-status")
