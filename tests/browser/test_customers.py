"""A person manages a customer with the keyboard and mouse: create, contacts, addresses, edit,
deactivate, find it again by search."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def test_create_edit_deactivate_and_find_a_customer(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server.admin)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    page.get_by_role("link", name="New customer").click()

    # The name field has the focus: type straight away; a bad email is refused inline.
    expect(page.get_by_label("Customer name")).to_be_focused()
    page.keyboard.type("Wonka Industries")
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("Email").fill("candy-at-wonka")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_text("is not a valid email address")).to_be_visible()
    expect(page.get_by_label("Customer name")).to_have_value("Wonka Industries")
    expect(page.get_by_label("Email")).to_be_focused()
    screenshot(page, "customers-form")
    page.get_by_label("Email").fill("candy@wonka.example")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_text("Customer Wonka Industries created.")).to_be_visible()

    page.get_by_role("link", name="Add contact").click()
    page.get_by_label("First name").fill("Charlie")
    page.get_by_label("Last name").fill("Bucket")
    page.get_by_label("Title").fill("Heir")
    page.get_by_role("button", name="Add contact person").click()
    expect(page.get_by_role("cell", name="Charlie Bucket Primary")).to_be_visible()

    page.get_by_role("link", name="Add billing address").click()
    page.get_by_label("Street").fill("1 Chocolate Road")
    page.get_by_label("City").fill("Montréal")
    page.get_by_label("Province / state").fill("Quebec")
    page.get_by_label("Country").fill("Canada")
    page.get_by_role("button", name="Add address").click()
    page.get_by_role("link", name="Add shipping address").click()
    expect(page.get_by_label("Type")).to_have_value("shipping")  # the link chose the kind
    page.get_by_label("City").fill("Loompaland")
    page.get_by_label("Country").fill("Loompaland Republic")
    page.get_by_role("button", name="Add address").click()
    billing = page.get_by_role("article", name="Billing address")
    expect(billing).to_contain_text("Quebec")
    expect(billing).to_contain_text("Canada")
    expect(page.get_by_role("article", name="Shipping address")).to_contain_text(
        "Loompaland Republic")

    page.locator("header").get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Phone").fill("+1 514 555 0199")
    page.get_by_label("Notes").fill("Golden tickets only.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Customer Wonka Industries saved.")).to_be_visible()
    expect(page.get_by_text("Golden tickets only.")).to_be_visible()
    screenshot(page, "customers-detail")

    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Mark as inactive").click()
    expect(page.get_by_text("Wonka Industries is now inactive.")).to_be_visible()

    page.get_by_role("link", name="Customers", exact=True).first.click()
    page.get_by_role("searchbox", name="Search customers").fill("wonka")
    page.keyboard.press("Enter")
    row = page.get_by_role("row").filter(has_text="Wonka Industries")
    expect(row).to_contain_text("Inactive")
    expect(row).to_contain_text("candy@wonka.example")
    screenshot(page, "customers")
