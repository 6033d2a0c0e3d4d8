"""The API docs render in a browser that may reach no host but ALIX (no CDN)."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import log_in
from tests.live import LiveServer


def test_api_docs_render_with_other_hosts_blocked(page: Page, live_server: LiveServer) -> None:
    elsewhere: list[str] = []

    def only_alix(route: Route) -> None:
        if route.request.url.startswith(live_server.base_url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_alix)
    log_in(page, live_server.admin)
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ALIX")
    expect(page.locator(".opblock").first).to_be_visible()
    assert elsewhere == []
