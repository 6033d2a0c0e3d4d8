"""The seed's initial synchronization in chromium: Details -> the cloud icon -> progress in a
toast -> the imported customers in Sales -> Customers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from alix.customers.service import currencies_of
from tests.browser.conftest import alix_on, logged_in, screenshot
from tests.live import LiveServer
from zoho_emulator.testing import EmulatorServer

CLIENT_ID = "1000.SYNCBROWSER"
CLIENT_SECRET = "sync-browser-secret"


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(accounts=40, contacts_per_account=2) as server:
        yield server


@pytest.fixture
def alix(tmp_path: Path, emu: EmulatorServer) -> Iterator[LiveServer]:
    with alix_on(emu, tmp_path / "sync.db", CLIENT_ID, CLIENT_SECRET) as server:
        yield server


@pytest.fixture
def tab(browser: Browser, alix: LiveServer) -> Iterator[Page]:
    with logged_in(browser, alix) as page:
        yield page


def _importable(emu: EmulatorServer, alix: LiveServer) -> list[str]:
    """The names of the Accounts ALIX can import: those in one of its organisation's currencies
    (the others are open issues saying so)."""
    with alix.container.session_factory() as session:
        currencies = set(currencies_of(session, alix.admin.organisation_id))
    accounts = emu.state.default_org.store("Accounts").records.values()
    return sorted(str(a["Account_Name"]) for a in accounts if a["Currency"] in currencies)


def _reloading(page: Page, action) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        action()


def test_initial_sync_from_details(tab: Page, emu: EmulatorServer, alix: LiveServer
                                   ) -> None:
    tab.goto("/settings/integrations")
    tab.get_by_role("button", name="Connect", exact=True).click()
    tab.get_by_role("button", name="United States (zoho.com)").click()
    tab.get_by_role("button", name="Accept").click()
    tab.get_by_role("button", name="Connect ALIX").click()
    tab.wait_for_url("**/settings/integrations")
    tab.get_by_role("link", name="Details").click()
    tab.wait_for_url("**/settings/integrations/zoho-crm")
    icon = tab.locator("[data-initial-sync]")
    expect(icon).to_be_disabled()
    customer = tab.locator('[data-mapper="customer"]')
    _reloading(tab, lambda: customer.locator("[data-add]").click())
    row = customer.locator("tr[data-row]").last
    _reloading(tab, lambda: row.locator('select[data-side="alix_field"]').select_option(
        label="Currency"))
    _reloading(tab, lambda: tab.locator(
        'label.switch:has([data-toggle="customers"])').click())
    expect(icon).to_be_enabled()

    emu.control("faults", {"latency_ms": 250})  # slow enough to watch the toast
    try:
        _reloading(tab, icon.click)
        expect(tab.get_by_text("Initial synchronization started")).to_be_visible()
        progress = tab.locator(".toast .bar")
        expect(progress.first).to_be_visible()
        expect(tab.locator(".toast .label").first).to_contain_text("Zoho CRM sync")
        screenshot(tab, "zoho-initial-sync-progress")
        done = tab.locator('.toast[data-job-result="done"]')
        expect(done).to_contain_text("Zoho CRM synchronization finished", timeout=30_000)
        expect(done).to_contain_text("Initial synchronization succeeded")
    finally:
        emu.control("faults", {"latency_ms": 0})

    tab.goto("/customers")
    # Every importable Account is a row of the list (they fit on its first page of 50): one
    # missing, hidden or doubled row fails.
    expected = _importable(emu, alix)
    assert 20 <= len(expected) <= 40, expected
    names = tab.locator("tbody tr td:nth-child(2) a")
    expect(names).to_have_count(len(expected))
    assert sorted(names.all_inner_texts()) == expected
    screenshot(tab, "zoho-initial-sync-customers")
