"""The preview of the first sync: what it would create, link by name, find ambiguous, skip or
reject, with examples, writing nothing; and an ambiguous name settled by the person first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from alix.bootstrap import Container
from alix.customers.tables import customers
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.client.fake import FakeZohoCrm
from alix.integrations.zoho_crm.preview import preview_first_sync
from alix.integrations.zoho_crm.sync.engine.context import open_context
from alix.integrations.zoho_crm.sync.engine.pull import run_pull
from alix.integrations.zoho_crm.sync.engine.runs import PULL_TASK
from alix.integrations.zoho_crm.sync.store.issues import open_issues
from alix.integrations.zoho_crm.sync.store.tables import zoho_links, zoho_sync_runs
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.jobs.tables import Job
from tests.integration.sync_panel.conftest import browser, new_customer, post, world_of
from tests.integration.sync_pull.conftest import make_world
from tests.integration.sync_push.conftest import World

PAGE = "/settings/integrations/zoho-crm/preview"


def two_sides(container: Container) -> tuple[World, FakeZohoCrm, dict[str, str], list[int]]:
    """ALIX has two customers named Acme and one Beta; Zoho has Acme, Beta and Gamma, a
    Contact of Gamma and a Contact without an Account."""
    world, fake = world_of(container)
    acmes = [new_customer(world, "Acme"), new_customer(world, "Acme")]
    new_customer(world, "Beta")
    ids = {}
    for name in ("Acme", "Beta", "Gamma"):
        [done] = anyio.run(fake.insert, "Accounts", [{"Account_Name": name}])
        ids[name] = str(done.id)
    anyio.run(fake.insert, "Contacts", [
        {"Last_Name": "Lovelace", "Account_Name": {"id": ids["Gamma"]}},
        {"Last_Name": "Nobody"}])
    return world, fake, ids, acmes


def first_sync(world: World, fake: FakeZohoCrm) -> None:
    @asynccontextmanager
    async def factory(_connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        yield fake

    async def run() -> None:
        world.clock.tick()
        async with open_context(world.sessions, world.scope.connection_id, factory,
                                world.clock) as ctx:
            await run_pull(ctx, initial=True)

    anyio.run(run)


def counts(container: Container) -> tuple[int, int, int]:
    with Session(container.engine) as s:
        return (s.scalar(select(func.count()).select_from(customers)) or 0,
                s.scalar(select(func.count()).select_from(zoho_links)) or 0,
                s.scalar(select(func.count()).select_from(zoho_sync_runs)) or 0)


def cell(page: str, name: str) -> str:
    start = page.index(f'data-count="{name}"')
    return page[page.index(">", start) + 1:page.index("<", start)].strip()


def test_the_preview_counts_with_examples_and_writes_nothing(backend: str,
                                                             container: Container) -> None:
    world, _fake, ids, acmes = two_sides(container)
    before = counts(container)
    with browser(container, world) as http:
        page = http.get(PAGE).text
    assert counts(container) == before
    assert cell(page, "Accounts:create") == "1"
    assert cell(page, "Accounts:link") == "1"
    assert cell(page, "Accounts:ambiguous") == "1"
    assert cell(page, "Contacts:create") == "1"
    assert cell(page, "Contacts:skip") == "1"
    assert "Gamma" in page and "Lovelace" in page
    assert "it has no Account" in page
    choice = page[page.index(f'id="ambiguous-{ids["Acme"]}"'):]
    choice = choice[:choice.index("</form>")]
    for customer_id in acmes:
        assert f'value="{customer_id}"' in choice
    assert 'value="new"' in choice


def test_the_first_sync_links_an_ambiguous_name_as_the_person_chose(
        backend: str, container: Container) -> None:
    world, fake, ids, acmes = two_sides(container)
    with browser(container, world) as http:
        done = post(http, f"{PAGE}/ambiguous/{ids['Acme']}", choice=str(acmes[1]))
        assert "Acme" in done
        assert f'id="ambiguous-{ids["Acme"]}"' not in done
    first_sync(world, fake)
    with Session(container.engine) as s:
        linked = s.scalar(select(zoho_links.c.alix_id).where(
            zoho_links.c.kind == "customer", zoho_links.c.zoho_id == ids["Acme"]))
        acme_count = s.scalar(select(func.count()).select_from(customers).where(
            customers.c.name == "Acme"))
    assert linked == acmes[1]
    assert acme_count == 2
    with unit_of_work(world.sessions) as session:
        assert [i.code for i in open_issues(session, world.scope)] == []


def test_create_new_for_an_ambiguous_name_makes_a_third_customer(
        backend: str, container: Container) -> None:
    world, fake, ids, acmes = two_sides(container)
    with browser(container, world) as http:
        post(http, f"{PAGE}/ambiguous/{ids['Acme']}", choice="new")
    first_sync(world, fake)
    with Session(container.engine) as s:
        linked = s.scalar(select(zoho_links.c.alix_id).where(
            zoho_links.c.kind == "customer", zoho_links.c.zoho_id == ids["Acme"]))
        acme_count = s.scalar(select(func.count()).select_from(customers).where(
            customers.c.name == "Acme"))
    assert linked not in acmes and linked is not None
    assert acme_count == 3


def test_a_choice_outside_the_candidates_is_refused(backend: str, container: Container
                                                    ) -> None:
    world, _fake, ids, _acmes = two_sides(container)
    beta = new_customer(world, "Zeta")
    with browser(container, world) as http:
        refused = post(http, f"{PAGE}/ambiguous/{ids['Acme']}", choice=str(beta))
    assert "is not one of the ALIX customers named" in refused
    with Session(container.engine) as s:
        assert s.scalar(select(func.count()).select_from(zoho_links)) == 0


def test_details_offers_the_preview_next_to_the_cloud_icon(backend: str,
                                                           container: Container) -> None:
    world, _fake, _ids, _acmes = two_sides(container)
    with browser(container, world) as http:
        details = http.get("/settings/integrations/zoho-crm").text
    assert f'href="{PAGE}"' in details


def test_the_preview_rejects_what_the_first_sync_rejects(backend: str, engine: Engine) -> None:
    """An Account in a currency the organisation lacks (it has CAD only) would be rejected, not
    created, and its Contact waits for it, with the organisation's reason: the first sync that
    follows does exactly what the preview said."""
    world = make_world(engine)
    acme, globex, _initech = world.zoho(
        "Accounts", {"Account_Name": "Acme", "Currency": "CAD", "Billing_City": "Montréal"},
        {"Account_Name": "Globex", "Currency": "GBP", "Billing_City": "London"},
        {"Account_Name": "Initech", "Currency": "CAD", "Billing_City": "Ottawa"})
    world.zoho("Contacts", {"Last_Name": "Lovelace", "Account_Name": {"id": acme}},
               {"Last_Name": "Babbage", "Account_Name": {"id": globex}})
    shown = anyio.run(preview_first_sync, world.ctx)
    assert world.count(customers) == 0
    assert shown.count("Accounts", "create") == 2
    assert shown.count("Accounts", "reject") == 1
    [rejected] = shown.examples[("Accounts", "reject")]
    assert rejected.zoho_id == globex
    assert "GBP is not one of your organisation's currencies (CAD)" in rejected.reason
    assert shown.count("Contacts", "create") == 1
    assert shown.count("Contacts", "skip") == 1
    [waiting] = shown.examples[("Contacts", "skip")]
    assert waiting.name == "Babbage"
    assert f"its Account {globex} would be rejected" in waiting.reason
    report = world.pull(initial=True)
    everywhere = {action: sum(n for (_m, a), n in shown.counts.items() if a == action)
                  for action in ("create", "reject", "skip")}
    assert report.counts["created"] == everywhere["create"]
    assert report.counts["rejected"] == everywhere["reject"] == 1
    # The sync also counts the Accounts without a shipping address, which the preview leaves
    # unsaid: the skips it shows are those the sync records as waiting for their Account.
    waits = [i for i in world.issues() if i.code == "parent_missing"]
    assert sorted(i.zoho_id for i in waits) == sorted(
        e.zoho_id for (_m, a), shown_ in shown.examples.items() if a == "skip" for e in shown_)
    assert len(waits) == everywhere["skip"] == 2
    assert sorted(world.customers()) == ["Acme", "Initech"]
    assert [c.last_name for c in world.contacts()] == ["Lovelace"]


def test_the_page_after_the_cloud_icon_toasts_the_syncs_end_even_if_it_ended_first(
        backend: str, container: Container) -> None:
    """A short sync can finish while the redirect after the cloud icon loads: the toast area
    polls only running jobs, so the page names the job it started, to say how it ended."""
    world, _fake, _ids, _acmes = two_sides(container)
    with browser(container, world) as http:
        page = post(http, "/settings/integrations/zoho-crm/sync")
        again = http.get("/settings/integrations/zoho-crm").text
    with Session(container.engine) as s:
        [job] = s.scalars(select(Job).where(Job.task == PULL_TASK)).all()
    assert "Initial synchronization started" in page
    assert f'data-watched-jobs="{job.id}"' in page
    assert "data-watched-jobs" not in again  # once
