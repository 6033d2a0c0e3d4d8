"""A customer's Zoho CRM panel in chromium: Create in Zoho, Unlink, Link to another Account found
by name (both sides then equal), and a conflict settled on the conflicts page with Keep Zoho's.
Screenshots land in the test artifacts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest
from playwright.sync_api import Browser, Page, expect

from alix.clock import utc_now
from alix.customers import repository as repo
from alix.customers.domain import Actor, NewCustomer, Origin
from alix.customers.service import create_customer, update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm import repository
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.mappers import ModuleKind
from alix.integrations.zoho_crm.rules import ConflictPolicy, ModuleState, Row
from alix.integrations.zoho_crm.sync.engine.context import open_context
from alix.integrations.zoho_crm.sync.engine.pull import run_pull
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.store.links import links_by_zoho_ids
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.tables import ZohoConnection
from tests.browser.conftest import log_in, screenshot
from tests.integration.sync_push.conftest import ROWS, SCHEMA, USER_ID
from tests.live import LiveServer, serve_alix

T = TypeVar("T")


def in_thread(call: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run one call of the fake Zoho outside this thread, whose event loop Playwright holds."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, call, *args).result()


@dataclass
class Scene:
    page: Page
    server: LiveServer
    fake: FakeZohoCrm

    def customer(self, name: str, phone: str) -> int:
        admin = self.server.admin
        with unit_of_work(self.server.container.session_factory) as session:
            return create_customer(session, Actor(admin.organisation_id, admin.user_id,
                                                  Origin.USER),
                                   NewCustomer({"name": name, "currency": "CAD",
                                                "phone": phone})).id

    def alix(self, customer_id: int) -> tuple[str, str | None]:
        with unit_of_work(self.server.container.session_factory) as session:
            c = repo.get_customer(session, self.server.admin.organisation_id, customer_id)
        return c.name, c.phone

    def set_policy(self, policy: ConflictPolicy) -> None:
        with unit_of_work(self.server.container.session_factory) as session:
            found = repository.connection_of(session, self.server.admin.organisation_id)
            assert found is not None
            found.conflict_policy = policy.value


def _connect(server: LiveServer, fake: FakeZohoCrm) -> None:
    with unit_of_work(server.container.session_factory) as session:
        connection = ZohoConnection(
            organisation_id=server.admin.organisation_id, status="connected", location="us",
            accounts_url="https://accounts.zoho.com", api_domain="https://www.zohoapis.com",
            zoho_org_id="60012345", zoho_org_name="Acme", edition="Enterprise",
            zoho_user_id=USER_ID, zoho_user_name="Admin", zoho_user_email="admin@example.com",
            zoho_user_time_zone="UTC", scopes="ZohoCRM.modules.ALL", config_version=1,
            conflict_policy="most_recent", delete_crm_to_alix="mark_inactive",
            delete_alix_to_crm="ignore", crm_schema=SCHEMA, created_at=utc_now(),
        )
        session.add(connection)
        session.flush()
        repository.create_configuration(session, connection)
        # create_configuration sets the default policies (most recent wins); these tests say
        # "CRM wins", where a Zoho edit in the same second as ALIX's is not left open.
        connection.conflict_policy = ConflictPolicy.CRM_WINS.value
        for mapper, alix, crm in ROWS:
            repository.insert_row(session, connection, Row(None, mapper, alix, crm))
        repository.save_module(session, connection, ModuleState(ModuleKind.CUSTOMERS, True))

    @asynccontextmanager
    async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        yield fake

    server.container.use_zoho(crm_factory=factory)


@pytest.fixture
def scene(browser: Browser, tmp_path: Path) -> Iterator[Scene]:
    with serve_alix(tmp_path / "panel.db", run_jobs_in_process=False) as server:
        fake = FakeZohoCrm()
        _connect(server, fake)
        context = browser.new_context(base_url=server.base_url,
                                      viewport={"width": 1280, "height": 860})
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        log_in(page, server.admin)
        yield Scene(page, server, fake)
        context.close()


def test_create_unlink_and_link_to_another_account(scene: Scene) -> None:
    page, fake = scene.page, scene.fake
    customer_id = scene.customer("Acme", "514 555 0100")
    page.goto(f"/customers/{customer_id}")
    panel = page.locator("#zoho-crm-panel")
    expect(panel).to_contain_text("Not linked to Zoho CRM")
    with page.expect_navigation():
        panel.get_by_role("button", name="Create in Zoho").click()
    expect(panel.locator("[data-sync-state]")).to_have_text("In sync")
    [first] = fake.records["Accounts"].keys()
    [other] = [str(r.id) for r in in_thread(fake.insert, "Accounts", [
        {"Account_Name": "Acme Holdings", "Phone": "514 555 0777"}])]

    with page.expect_navigation():
        panel.get_by_role("button", name="Unlink").click()
    expect(panel.locator("[data-sync-state]")).to_have_text("Not linked to Zoho CRM")
    panel.get_by_role("link", name="Link to an Account").click()
    page.wait_for_url("**/zoho-crm/link")
    expect(page.locator(f"tr[data-account='{other}']")).to_contain_text("Acme Holdings")
    screenshot(page, "customer-panel-link-search")
    with page.expect_navigation():
        page.get_by_role("button", name=f"Link to Acme Holdings ({other})").click()
    expect(panel.locator("[data-sync-state]")).to_have_text("In sync")
    expect(panel.get_by_role("link", name=f"Open Account {other} in Zoho CRM")).to_have_attribute(
        "href", f"https://crm.zoho.com/crm/org60012345/tab/Accounts/{other}")
    screenshot(page, "customer-panel-linked")
    # "CRM wins" here: the fields the two held differently took Zoho's values.
    assert scene.alix(customer_id) == ("Acme Holdings", "514 555 0777")
    account = fake.records["Accounts"][other]
    assert (account["Account_Name"], account["Phone"]) == ("Acme Holdings", "514 555 0777")
    assert first in fake.records["Accounts"]


def test_a_conflict_under_ask_settled_with_keep_zohos(scene: Scene) -> None:
    page, fake = scene.page, scene.fake
    scene.set_policy(ConflictPolicy.ASK)
    customer_id = scene.customer("Acme", "514 555 0000")
    page.goto(f"/customers/{customer_id}")
    panel = page.locator("#zoho-crm-panel")
    with page.expect_navigation():
        panel.get_by_role("button", name="Create in Zoho").click()
    [zoho_id] = fake.records["Accounts"].keys()
    in_thread(fake.update, "Accounts", [{"id": zoho_id, "Phone": "514 555 0199"}])
    admin = scene.server.admin
    with unit_of_work(scene.server.container.session_factory) as session:
        update_customer(session, Actor(admin.organisation_id, admin.user_id, Origin.USER),
                        customer_id, {"phone": "514 555 0100"})
    page.reload()
    with page.expect_navigation():
        panel.get_by_role("button", name="Sync now").click()
    expect(panel.locator("[data-sync-state]")).to_have_text("Conflict")
    panel.get_by_role("link", name="Decide on the conflicts page").click()
    page.wait_for_url("**/zoho-crm/conflicts*")
    conflict = page.locator("article.conflict")
    expect(conflict).to_contain_text("514 555 0100")
    expect(conflict).to_contain_text("514 555 0199")
    screenshot(page, "conflicts-page")
    conflict.get_by_role("button", name="Keep Zoho's").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".flash-success")).to_contain_text("both sides hold it now")
    expect(page.locator("article.conflict")).to_have_count(0)
    assert scene.alix(customer_id)[1] == "514 555 0199"
    assert fake.records["Accounts"][zoho_id]["Phone"] == "514 555 0199"


def test_the_preview_then_the_first_sync_follows_the_chosen_customer(scene: Scene) -> None:
    page, fake, server = scene.page, scene.fake, scene.server
    acmes = [scene.customer("Acme", "514 555 0001"), scene.customer("Acme", "514 555 0002")]
    [account] = in_thread(fake.insert, "Accounts", [{"Account_Name": "Acme"}])
    in_thread(fake.insert, "Accounts", [{"Account_Name": "Gamma"}])
    page.goto("/settings/integrations/zoho-crm/preview")  # Details links it: integration test
    expect(page.locator("[data-count='Accounts:create']")).to_have_text("1")
    expect(page.locator("[data-count='Accounts:ambiguous']")).to_have_text("1")
    choice = page.locator(f"#ambiguous-{account.id}")
    choice.get_by_role("radio", name=f"Acme (customer {acmes[1]})").check()
    screenshot(page, "first-sync-preview")
    with page.expect_navigation():
        choice.get_by_role("button", name="Keep this choice").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Acme ({acmes[1]})")
    expect(page.locator("[data-count='Accounts:update']")).to_have_text("1")

    async def first_sync() -> None:
        factory = server.container.zoho.crm_factory
        async with open_context(server.container.session_factory, found_id(server),
                                factory, utc_now) as ctx:
            await run_pull(ctx, initial=True)

    in_thread(first_sync)
    with unit_of_work(server.container.session_factory) as session:
        scope = SyncScope(server.admin.organisation_id, found_id(server))
        pairs = links_by_zoho_ids(session, scope, [LinkKind.CUSTOMER], [str(account.id)])
    assert pairs[(LinkKind.CUSTOMER, str(account.id))].alix_id == acmes[1]


def found_id(server: LiveServer) -> int:
    with unit_of_work(server.container.session_factory) as session:
        found = repository.connection_of(session, server.admin.organisation_id)
        assert found is not None
        return found.id
