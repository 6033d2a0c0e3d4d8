"""Browser fixtures: Debian's chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from alix.integrations.zoho_crm.connection import CALLBACK_PATH
from tests.live import LiveServer, serve_alix
from tests.support import ARTIFACTS, Account
from zoho_emulator.testing import EmulatorServer

CHROMIUM = os.environ.get("ALIX_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.browser)


# Module scope: Playwright's sync API keeps an event loop running on the main thread while it
# lives, which would break async tests that run after the browser tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium).")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    with serve_alix(tmp_path / "browser.db") as server:
        yield server


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.base_url,
                                  viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def log_in(page: Page, account: Account) -> None:
    """Log in through the login form, as a person would (keyboard only)."""
    page.goto("/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/")


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def alix_on(emu: EmulatorServer, db: Path, client_id: str, client_secret: str
            ) -> Iterator[LiveServer]:
    """ALIX served live, with the emulator as its Zoho accounts server and registered there as
    an OAuth client (so Connect walks the real consent flow)."""
    with serve_alix(db, zoho_client_id=client_id, zoho_client_secret=client_secret,
                    zoho_accounts_url=emu.base_url) as server:
        emu.state.tokens.register_client(client_id, client_secret,
                                         server.base_url + CALLBACK_PATH)
        yield server


@contextmanager
def logged_in(browser: Browser, server: LiveServer, *, timeout_ms: int = 15_000
              ) -> Iterator[Page]:
    """A tab of a fresh browser context, logged in as the server's administrator."""
    context = browser.new_context(base_url=server.base_url,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    log_in(page, server.admin)
    yield page
    context.close()
