"""The initial synchronization against the fake: creates, links by name, skips, rejections,
replay of a page, and the statements a page costs."""

from __future__ import annotations

import asyncio

from sqlalchemy import event

from alix.customers.domain import NewCustomer
from alix.customers.service import create_customers
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.sync.engine.apply import pull_page
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.store import runs as run_store
from tests.integration.sync_pull.conftest import World

FIELDS = ["Account_Name", "Currency", "Website", "Phone", "Description", "Billing_City",
          "Billing_Country"]


def _account(name: str, **extra: object) -> dict[str, object]:
    return {"Account_Name": name, "Currency": "CAD", **extra}


def _existing(world: World, *names: str) -> list[int]:
    with unit_of_work(world.ctx.sessions) as session:
        return create_customers(session, world.ctx.actor,
                                [NewCustomer({"name": n, "currency": "CAD"}) for n in names])


def test_first_pull_creates_customers_contacts_addresses_and_links(world: World) -> None:
    [acme, _globex] = world.zoho("Accounts", _account("Acme", Billing_City="Toronto",
                                                      Billing_Country="Canada"),
                                 _account("Globex"))
    world.zoho("Contacts", {"Last_Name": "Smith", "Email": "s@acme.example",
                            "Account_Name": {"id": acme}},
               {"Last_Name": "Orphan"})  # no Account: not imported (the seed)
    report = world.pull(initial=True)
    assert set(world.customers()) == {"Acme", "Globex"}
    assert [c.last_name for c in world.contacts()] == ["Smith"]
    [address] = world.addresses()
    assert (address.city, address.country, address.is_main) == ("Toronto", "CA", True)
    assert sorted(link.kind for link in world.links()) == [
        "contact", "customer", "customer", "main_billing_address"]
    assert report.counts["created"] == 4 and report.counts["skipped"] >= 1
    assert world.issues() == []  # a contact without Account is not an issue
    with unit_of_work(world.ctx.sessions) as session:
        run = run_store.latest_run(session, world.scope)
    assert run is not None and run.status is run_store.RunStatus.SUCCEEDED
    assert run.kind is run_store.RunKind.INITIAL
    assert run.progress["Accounts"].total == 2 and run.progress["Accounts"].done == 2
    assert run.progress["Contacts"].total == 2


def test_same_name_is_linked_and_several_namesakes_are_ambiguous(world: World) -> None:
    [solo] = _existing(world, "Acme Inc.")
    twins = _existing(world, "Twin Co", "twin  co")
    world.zoho("Accounts", _account("Acme Inc."), _account("Twin Co"))
    world.pull(initial=True)
    customers = world.rows_by_id()
    assert len(customers) == 3  # nothing duplicated
    assert {link.alix_id for link in world.links() if link.kind == "customer"} == {solo}
    [issue] = world.issues()
    assert issue.code == "ambiguous" and "Twin Co" in issue.message
    assert issue.details["candidates"] == twins


def test_a_rejected_record_is_an_issue_and_is_retried(world: World) -> None:
    [good, bad] = world.zoho("Accounts", _account("Good"), _account("Bad", Currency="XYZ"))
    world.pull(initial=True)
    assert set(world.customers()) == {"Good"}
    [issue] = world.issues()
    assert issue.code == "rejected" and bad in issue.message and "XYZ" in issue.message
    asyncio.run(world.crm.update("Accounts", [{"id": bad, "Currency": "CAD"}]))
    world.clock.advance(3600)  # the retry is due; the fixed record was also modified
    world.pull()
    assert set(world.customers()) == {"Good", "Bad"}
    assert world.issues() == []
    assert good


def test_the_issue_of_a_record_zoho_deleted_closes_at_its_retry(world: World) -> None:
    [_good, bad] = world.zoho("Accounts", _account("Good"), _account("Bad", Currency="XYZ"))
    world.pull(initial=True)
    assert len(world.issues()) == 1
    asyncio.run(world.crm.delete("Accounts", [bad]))
    world.clock.advance(3600)
    world.pull()
    assert world.issues() == []  # nothing left to import: not due again forever


def test_contacts_of_an_ambiguous_account_wait_for_it(world: World) -> None:
    _existing(world, "Twin", "Twin")
    [twin] = world.zoho("Accounts", _account("Twin"))
    world.zoho("Contacts", {"Last_Name": "Waits", "Account_Name": {"id": twin}})
    world.pull(initial=True)
    assert world.contacts() == []
    assert sorted(i.code for i in world.issues()) == ["ambiguous", "parent_missing"]


def test_a_page_applied_twice_writes_nothing_the_second_time(world: World) -> None:
    [acme] = world.zoho("Accounts", _account("Acme", Billing_City="Toronto"))
    world.zoho("Contacts", {"Last_Name": "Smith", "Account_Name": {"id": acme}})
    accounts = asyncio.run(world.crm.get_records("Accounts", [acme], FIELDS))
    kinds = (LinkKind.CUSTOMER, LinkKind.MAIN_BILLING)
    for _ in range(2):
        with unit_of_work(world.ctx.sessions) as session:
            outcome = pull_page(session, world.scope, world.config, world.ctx.actor, accounts,
                                kinds, world.clock())
    assert dict(outcome.counts) == {"unchanged": 2}
    assert len(world.customers()) == 1 and len(world.addresses()) == 1
    assert len(world.links()) == 2


def test_a_page_costs_the_same_statements_whatever_its_size(world: World) -> None:
    sqlite = world.engine.dialect.name == "sqlite"

    def statements(n: int, offset: int) -> int:
        ids = world.zoho("Accounts", *[_account(f"Company {offset + i}") for i in range(n)])
        records = asyncio.run(world.crm.get_records("Accounts", ids, FIELDS))
        counted = 0

        def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            nonlocal counted
            # SQLite cannot return the ids of a multi-row INSERT in parameter order, so
            # SQLAlchemy sends customers.repository's RETURNING inserts one row at a time there
            # (one cursor call each, still one statement for us); PostgreSQL batches them.
            if not (sqlite and statement.startswith("INSERT INTO customers ")):
                counted += 1

        event.listen(world.engine, "before_cursor_execute", count)
        try:
            with unit_of_work(world.ctx.sessions) as session:
                pull_page(session, world.scope, world.config, world.ctx.actor, records,
                          (LinkKind.CUSTOMER,), world.clock())
        finally:
            event.remove(world.engine, "before_cursor_execute", count)
        return counted

    small, large = statements(3, 0), statements(60, 100)
    assert len(world.customers()) == 63
    assert large == small, (small, large)


def test_contacts_read_before_their_account_are_imported_with_it(world: World) -> None:
    # The Account changed inside the settle window when the sync ran (tests/crash: a push's
    # renames a second before the import): it waits for the next run, while its Contact,
    # changed long before, is read now. The next run imports the Account, and its Contact
    # with it, without waiting for the Contact's retry (an hour) or a change to it.
    [acme] = world.zoho("Accounts", _account("Acme"))
    world.zoho("Contacts", {"Last_Name": "Early", "Account_Name": {"id": acme}})
    world.clock.advance(60)
    asyncio.run(world.crm.update("Accounts", [{"id": acme, "Website": "acme.example"}]))
    world.pull(initial=True, settle=1)  # the Account's second is not closed yet
    assert world.customers() == {} and world.contacts() == []
    assert [i.code for i in world.issues()] == ["parent_missing"]
    world.pull()
    assert set(world.customers()) == {"Acme"}
    assert [c.last_name for c in world.contacts()] == ["Early"]
    assert world.issues() == []
