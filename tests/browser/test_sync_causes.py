"""A missing currency, end to end in chromium: Details warns before the first sync -> the final
toast gives the counts -> the status page shows one cause with its counts -> the administrator
adds the currency on Settings -> Organisation (keyboard only) -> every waiting Account and its
Contacts import, and no record needs attention."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from alix.customers.tables import contact_persons, customers
from alix.jobs.tables import Job
from tests.browser.conftest import alix_on, logged_in, screenshot
from tests.live import LiveServer
from zoho_emulator.testing import EmulatorServer

CLIENT_ID = "1000.CAUSESBROWSER"
CLIENT_SECRET = "causes-browser-secret"


@pytest.fixture
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(accounts=30, contacts_per_account=2) as server:
        yield server


@pytest.fixture
def alix(tmp_path: Path, emu: EmulatorServer) -> Iterator[LiveServer]:
    # The organisation trades in CAD, USD and EUR (tests.support): the emulator's GBP Accounts
    # are what the sync would reject.
    with alix_on(emu, tmp_path / "causes.db", CLIENT_ID, CLIENT_SECRET) as server:
        yield server


@pytest.fixture
def tab(browser: Browser, alix: LiveServer) -> Iterator[Page]:
    with logged_in(browser, alix) as page:
        yield page


def _jobs(server: LiveServer) -> str:
    with server.container.session_factory() as session:
        rows = session.scalars(select(Job).order_by(Job.id)).all()
        return "\n".join(f"job {j.id} {j.task} {j.status} attempts={j.attempts} "
                         f"started={j.started_at} heartbeat={j.heartbeat_at} "
                         f"lease={j.lease_key} error={getattr(j, 'error', None)!r}"
                         for j in rows)


def _reloading(page: Page, action) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        action()


def _connect_and_activate(tab: Page) -> None:
    tab.goto("/settings/integrations")
    tab.get_by_role("button", name="Connect", exact=True).click()
    tab.get_by_role("button", name="United States (zoho.com)").click()
    tab.get_by_role("button", name="Accept").click()
    tab.get_by_role("button", name="Connect ALIX").click()
    tab.wait_for_url("**/settings/integrations")
    tab.get_by_role("link", name="Details").click()
    tab.wait_for_url("**/settings/integrations/zoho-crm")
    customer = tab.locator('[data-mapper="customer"]')
    _reloading(tab, lambda: customer.locator("[data-add]").click())
    row = customer.locator("tr[data-row]").last
    _reloading(tab, lambda: row.locator('select[data-side="alix_field"]').select_option(
        label="Currency"))
    _reloading(tab, lambda: tab.locator(
        'label.switch:has([data-toggle="customers"])').click())


def _zoho(emu: EmulatorServer, module: str) -> list[dict[str, object]]:
    return list(emu.state.default_org.store(module).records.values())


def _imported(alix: LiveServer) -> tuple[int, int]:
    org = alix.admin.organisation_id
    with alix.container.session_factory() as session:
        return (session.scalar(select(func.count()).select_from(customers).where(
                    customers.c.organisation_id == org)) or 0,
                session.scalar(select(func.count()).select_from(contact_persons).where(
                    contact_persons.c.organisation_id == org)) or 0)


def test_a_missing_currency_warned_grouped_and_fixed(tab: Page, emu: EmulatorServer,
                                                     alix: LiveServer) -> None:
    accounts = _zoho(emu, "Accounts")
    pounds = [a for a in accounts if a["Currency"] == "GBP"]
    assert 0 < len(pounds) < len(accounts)
    _connect_and_activate(tab)

    warning = tab.locator("[data-preflight]")
    expect(warning).to_contain_text(f"{len(pounds)} Zoho Accounts use GBP, which is not one "
                                    "of your currencies")
    expect(warning.get_by_role("link", name="Add GBP to your organisation")).to_be_visible()
    screenshot(tab, "zoho-preflight-warning")

    _reloading(tab, tab.locator("[data-initial-sync]").click)
    done = tab.locator('.toast[data-job-result="done"]')
    try:
        # Generous: on a loaded 2-core machine the whole suite shares it with chromium.
        expect(done).to_contain_text("Initial synchronization succeeded", timeout=60_000)
    except AssertionError:
        print(_jobs(alix))  # what the runner was doing, for the next reader of a CI log
        raise
    expect(done).to_contain_text(f"{len(pounds)} rejected")
    expect(done.get_by_role("link", name="Details")).to_be_visible()
    screenshot(tab, "zoho-sync-final-toast")

    tab.goto("/settings/integrations/zoho-crm/sync")
    cause = tab.locator("[data-cause]")
    expect(cause).to_have_count(1)
    expect(cause.locator("[data-cause-title]")).to_have_text(
        "Currency GBP is not one of your currencies")
    waiting = 2 * len(pounds)
    expect(cause.locator("[data-cause-counts]")).to_have_text(
        f"{len(pounds)} Accounts, {waiting} Contacts waiting on them")
    expect(cause).to_contain_text(str(pounds[0]["Account_Name"]))
    screenshot(tab, "zoho-sync-causes")

    _reloading(tab, cause.get_by_role("link", name="Add GBP to your organisation").click)
    tab.wait_for_url("**/settings/organisation")
    code = tab.get_by_label("Add a currency (ISO 4217 code)")
    code.focus()
    code.fill("GBP")
    _reloading(tab, lambda: code.press("Enter"))
    expect(tab.locator(".flash-success")).to_contain_text(
        f"GBP is one of your currencies now: {len(pounds) + waiting} records waiting on it "
        "are retried now")
    expect(tab.locator("[data-currencies]")).to_contain_text("GBP")
    screenshot(tab, "organisation-currency-added")

    # The pull the fix queued runs in the app's job runner; the page tells when it is done.
    tab.goto("/settings/integrations/zoho-crm/sync")
    attention = tab.locator("[data-attention]")
    for _ in range(60):
        if attention.inner_text().startswith("0 records need attention"):
            break
        tab.wait_for_timeout(500)
        tab.reload()
    expect(attention).to_contain_text("0 records need attention")
    expect(tab.locator("[data-cause]")).to_have_count(0)
    with_account = [c for c in _zoho(emu, "Contacts") if c.get("Account_Name")]
    assert _imported(alix) == (len(accounts), len(with_account))
    screenshot(tab, "zoho-sync-all-in-sync")
