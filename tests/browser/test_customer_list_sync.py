"""The customer list's Zoho CRM column and its "with sync errors" filter in chromium: the filter
shows exactly the customers with errors. A screenshot lands in the test artifacts."""

from __future__ import annotations

from playwright.sync_api import expect

from alix.customers.domain import Actor, Origin
from alix.customers.service import update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.rules import ConflictPolicy
from tests.browser import test_customer_panel
from tests.browser.conftest import screenshot
from tests.browser.test_customer_panel import Scene, in_thread

scene = test_customer_panel.scene  # the panel tests' fixture: a connected admin in chromium


def _create_in_zoho(scene: Scene, customer_id: int) -> None:
    scene.page.goto(f"/customers/{customer_id}")
    with scene.page.expect_navigation():
        scene.page.locator("#zoho-crm-panel").get_by_role(
            "button", name="Create in Zoho").click()


def test_the_list_filter_shows_exactly_the_customers_with_errors(scene: Scene) -> None:
    page, fake = scene.page, scene.fake
    scene.set_policy(ConflictPolicy.ASK)
    acme = scene.customer("Acme", "514 555 0000")
    beta = scene.customer("Beta", "514 555 0000")
    _create_in_zoho(scene, acme)  # the push sends every pending change: Beta's too
    [beta_account] = [k for k, r in fake.records["Accounts"].items()
                      if r["Account_Name"] == "Beta"]
    in_thread(fake.update, "Accounts", [{"id": beta_account, "Phone": "514 555 0199"}])
    admin = scene.server.admin
    with unit_of_work(scene.server.container.session_factory) as session:
        update_customer(session, Actor(admin.organisation_id, admin.user_id, Origin.USER),
                        beta, {"phone": "514 555 0100"})
    page.goto(f"/customers/{beta}")
    with page.expect_navigation():
        page.locator("#zoho-crm-panel").get_by_role("button", name="Sync now").click()
    scene.customer("Gamma", "514 555 0000")  # created since the last push: not linked

    page.goto("/customers")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="Acme")).to_contain_text("In sync")
    expect(rows.filter(has_text="Gamma")).to_contain_text("Not linked to Zoho CRM")
    page.get_by_label("Zoho CRM").select_option(label="With sync errors")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Beta")
    expect(rows.first.locator("[data-list-cell='sync']")).to_have_text("Conflict")
    screenshot(page, "customer-list-sync-errors")
    page.get_by_label("Zoho CRM").select_option(label="Not synced")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(2)
    expect(page.locator("tbody")).to_contain_text("Gamma")
