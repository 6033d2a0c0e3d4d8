"""A person logs in and sees the shell: menu, flash message, toast area; then logs out."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.live import LiveServer


def test_log_in_and_see_the_shell(page: Page, live_server: LiveServer) -> None:
    page.goto("/")
    expect(page).to_have_url(f"{live_server.base_url}/login?next=/")
    log_in(page, live_server.admin)
    expect(page.get_by_role("status").filter(has_text="Welcome")).to_be_visible()
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link", name="Customers")).to_be_visible()
    expect(menu.get_by_role("link", name="Integration")).to_be_visible()
    expect(page.locator("#toasts")).to_be_attached()
    page.evaluate("window.alix.toast('Saved', 'success')")
    expect(page.locator("#toasts .toast-success")).to_have_text("Saved")
    screenshot(page, "shell")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.base_url}/login")
    expect(page.get_by_text("You are logged out.")).to_be_visible()


def test_a_wrong_password_shows_an_error(page: Page, live_server: LiveServer) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(live_server.admin.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
