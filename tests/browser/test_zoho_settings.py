"""The seed's steps in chromium: connect through the emulator's consent page, then Details."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from alix.integrations.zoho_crm.connection import CALLBACK_PATH
from tests.browser.conftest import alix_on, logged_in, screenshot
from tests.live import LiveServer
from zoho_emulator.testing import EmulatorServer

CLIENT_ID = "1000.BROWSER"
CLIENT_SECRET = "browser-secret"


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def zoho_server(tmp_path: Path, emu: EmulatorServer) -> Iterator[LiveServer]:
    with alix_on(emu, tmp_path / "zoho.db", CLIENT_ID, CLIENT_SECRET) as server:
        yield server


@pytest.fixture
def tab(browser: Browser, zoho_server: LiveServer) -> Iterator[Page]:
    with logged_in(browser, zoho_server, timeout_ms=10_000) as page:
        yield page


def _consent(page: Page) -> None:
    page.goto("/settings/integrations")
    page.get_by_role("button", name="Connect", exact=True).click()
    page.get_by_role("button", name="United States (zoho.com)").click()
    page.wait_for_url("**/oauth/v2/auth?**")


def _mapper(page: Page, kind: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-mapper="{kind}"]')


def _reloading(page: Page, action) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        action()


def _toggle(page: Page, kind: str) -> None:
    page.locator(f'label.switch:has([data-toggle="{kind}"])').click()


def _add_row(page: Page, mapper: str, side: str, label: str) -> None:
    _reloading(page, lambda: _mapper(page, mapper).locator("[data-add]").click())
    row = _mapper(page, mapper).locator("tr[data-row]").last
    select = row.locator(f'select[data-side="{side}"]')
    _reloading(page, lambda: select.select_option(label=label))


def _address_rows(page: Page, mapper: str, names: list[str]) -> None:
    for label in names:
        _add_row(page, mapper, "alix_field", label)


ADDRESS = ["Street", "City", "Country", "Province / state", "Postal code"]


def test_a_forged_state_is_refused(tab: Page) -> None:
    _consent(tab)
    tab.get_by_role("button", name="Accept").click()
    tab.wait_for_url("**/oauth/callback**")
    expect(tab.get_by_role("button", name="Connect ALIX")).to_be_visible()
    # A second callback with a state ALIX never issued (e.g. from an attacker's link).
    parts = dict(parse_qsl(urlsplit(tab.url).query))
    parts["state"] = "forged"
    tab.goto(CALLBACK_PATH + "?" + urlencode(parts))
    expect(tab.get_by_text("the OAuth state does not match")).to_be_visible()


def test_the_seed_steps(tab: Page) -> None:
    # Connect Zoho CRM
    _consent(tab)
    tab.get_by_role("button", name="Accept").click()
    tab.get_by_role("button", name="Connect ALIX").click()
    tab.wait_for_url("**/settings/integrations")
    expect(tab.get_by_text("Connected as")).to_be_visible()
    tab.get_by_role("link", name="Details").click()
    tab.wait_for_url("**/settings/integrations/zoho-crm")
    expect(tab.get_by_text("Connected as")).to_contain_text("Maple Leaf Trading Inc.")
    expect(tab.locator('[data-mapper="customer"]')).to_contain_text("Client Name")
    expect(tab.locator('.sync-icon button')).to_be_disabled()
    screenshot(tab, "zoho-details-connected")

    # Activate Customers: without Currency the error says so
    _toggle(tab, "customers")
    expect(tab.locator("#msg-customers li.error")).to_contain_text("Map Currency")
    expect(tab.locator('[data-toggle="customers"]')).not_to_be_checked()
    _add_row(tab, "customer", "alix_field", "Currency")
    currency = _mapper(tab, "customer").locator("tr[data-row]").last
    expect(currency.locator('select[data-side="crm_field"]')).to_have_value("Currency")
    _reloading(tab, lambda: _toggle(tab, "customers"))
    expect(tab.locator('[data-toggle="customers"]')).to_be_checked()

    # + twice on an incomplete mapper shows the error; mandatory rows have no X
    contact = _mapper(tab, "contact_person")
    _reloading(tab, lambda: contact.locator("[data-add]").click())
    contact.locator("[data-add]").click()
    expect(tab.locator("#msg-contact_person li.error")).to_contain_text(
        "Complete the field mapping")
    for mapper, rows in (("customer", 2), ("contact_person", 2)):
        mandatory = _mapper(tab, mapper).locator("tr[data-row]")
        for index in range(rows):
            expect(mandatory.nth(index).locator("[data-delete]")).to_have_count(0)
    _reloading(tab, lambda: contact.locator("tr[data-row]").last.locator("[data-delete]").click())

    # Main billing and main shipping addresses
    for kind in ("main_billing_address", "main_shipping_address"):
        _address_rows(tab, kind, ADDRESS)
        _reloading(tab, lambda kind=kind: _toggle(tab, kind))
        expect(tab.locator(f'[data-toggle="{kind}"]')).to_be_checked()
    billing_city = _mapper(tab, "main_billing_address").locator("tr[data-row]").nth(1)
    expect(billing_city.locator('select[data-side="crm_field"]')).to_have_value("Billing_City")
    expect(billing_city.locator("[data-delete]")).to_have_count(0)  # required and active

    # Billing and shipping addresses: the dropdown, the fields, Default and the Name row
    for kind, module in (("billing_addresses", "Billing Addresses"),
                         ("shipping_addresses", "Shipping Addresses")):
        dropdown = tab.locator(f'[data-crm-module="{kind}"]')
        options = dropdown.locator("option").all_inner_texts()
        assert "Projects" not in options and module in options
        _reloading(tab, lambda d=dropdown, m=module: d.select_option(label=m))
        _address_rows(tab, kind, [*ADDRESS, "Main address"])
        is_main = _mapper(tab, kind).locator("tr[data-row]").last
        expect(is_main.locator('select[data-side="crm_field"]')).to_have_value("Default")
        name_label = "Billing Address Name" if kind == "billing_addresses" else \
            "Shipping Address Name"
        _add_row(tab, kind, "crm_field", name_label)
        name_row = _mapper(tab, kind).locator("tr[data-row]").last
        expect(name_row.locator('select[data-side="alix_field"]')).to_have_value("label")
        _reloading(tab, lambda kind=kind: _toggle(tab, kind))
        expect(tab.locator(f'[data-toggle="{kind}"]')).to_be_checked()
    screenshot(tab, "zoho-details-configured")

    # An active custom module cannot change its CRM module
    dropdown = tab.locator('[data-crm-module="billing_addresses"]')
    expect(dropdown).to_be_disabled()
    refused = tab.evaluate("""async () => {
        const r = await fetch('/api/v1/integrations/zoho-crm/modules/billing_addresses', {
            method: 'PATCH', headers: {'Content-Type': 'application/json',
            'X-CSRF-Token': window.alix.csrf()},
            body: JSON.stringify({crm_module: 'Shipping_Addresses'})});
        return [r.status, (await r.json()).detail];
    }""")
    assert refused[0] == 409 and "Deactivate Billing addresses" in refused[1]

    # Deactivate, delete its mappings, change it
    _reloading(tab, lambda: _toggle(tab, "billing_addresses"))
    rows = _mapper(tab, "billing_addresses").locator("tr[data-row]")
    while rows.count():
        _reloading(tab, lambda: rows.first.locator("[data-delete]").click())
    expect(dropdown).to_be_enabled()
    dropdown.select_option(label="Shipping Addresses")  # taken by Shipping addresses
    expect(tab.locator("#msg-billing_addresses li.error")).to_contain_text("already holds")
    _reloading(tab, lambda: dropdown.select_option(value=""))
    expect(dropdown).to_have_value("")
    _reloading(tab, lambda: dropdown.select_option(label="Billing Addresses"))
    expect(dropdown).to_have_value("Billing_Addresses")
    tab.evaluate("window.scrollTo(0, 0)")
    screenshot(tab, "zoho-details-changed-module")


def test_details_by_keyboard(tab: Page) -> None:
    _consent(tab)
    tab.get_by_role("button", name="Accept").click()
    tab.get_by_role("button", name="Connect ALIX").click()
    tab.wait_for_url("**/settings/integrations")
    tab.goto("/settings/integrations/zoho-crm")

    # + by keyboard: the focus lands on the new row's ALIX field.
    tab.locator('[data-add="customer"]').focus()
    _reloading(tab, lambda: tab.keyboard.press("Enter"))
    row = _mapper(tab, "customer").locator("tr[data-row]").last
    alix_field = row.locator('select[data-side="alix_field"]')
    expect(alix_field).to_be_focused()

    # Walking the options with the arrows saves nothing; Enter saves and keeps the focus.
    tab.evaluate("window.notReloaded = true")
    for _step in range(60):
        if alix_field.input_value() == "currency":
            break
        tab.keyboard.press("ArrowDown")
    assert alix_field.input_value() == "currency"
    tab.wait_for_timeout(300)
    assert tab.evaluate("window.notReloaded === true"), "an arrow key saved and reloaded"
    _reloading(tab, lambda: tab.keyboard.press("Enter"))
    row = _mapper(tab, "customer").locator("tr[data-row]").last
    # Currency's ALIX side is locked now: the focus goes to the row's CRM field.
    expect(row.locator('select[data-side="crm_field"]')).to_have_value("Currency")
    expect(row.locator('select[data-side="crm_field"]')).to_be_focused()

    # The switch with Space; the focus stays on it.
    tab.locator('[data-toggle="customers"]').focus()
    _reloading(tab, lambda: tab.keyboard.press("Space"))
    expect(tab.locator('[data-toggle="customers"]')).to_be_checked()
    expect(tab.locator('[data-toggle="customers"]')).to_be_focused()

    # + on an incomplete mapper: the error is an alert, the focus stays on +.
    tab.locator('[data-add="contact_person"]').focus()
    _reloading(tab, lambda: tab.keyboard.press("Enter"))
    tab.keyboard.press("Shift+Tab")
    plus = tab.locator('[data-add="contact_person"]')
    expect(plus).to_be_focused()
    tab.keyboard.press("Enter")
    expect(tab.get_by_role("alert")).to_contain_text("Complete the field mapping")
    expect(plus).to_be_focused()

    # Tab reaches the row's X; deleting moves the focus to the mapper's +.
    tab.keyboard.press("Tab")
    tab.keyboard.press("Tab")
    tab.keyboard.press("Tab")
    expect(_mapper(tab, "contact_person").locator("[data-delete]")).to_be_focused()
    _reloading(tab, lambda: tab.keyboard.press("Enter"))
    expect(_mapper(tab, "contact_person").locator("[data-delete]")).to_have_count(0)
    expect(plus).to_be_focused()

    # Remove integration: a link, then a confirmation page whose button has the focus.
    tab.get_by_role("link", name="Remove integration").focus()
    _reloading(tab, lambda: tab.keyboard.press("Enter"))
    expect(tab.get_by_text("deletes the whole configuration")).to_be_visible()
    expect(tab.get_by_role("button", name="Remove integration")).to_be_focused()
    _reloading(tab, lambda: tab.keyboard.press("Enter"))
    tab.wait_for_url("**/settings/integrations")
    expect(tab.get_by_role("button", name="Connect", exact=True)).to_be_visible()
