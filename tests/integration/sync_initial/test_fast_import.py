"""The initial import's fast path (no outbox row per record it creates) against the normal
path: the same rows, links and issues; a base a later merge still finds; a crash after a page
that resumes with exact counts; a page with rejected records that still commits the rest."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import Engine

from alix.customers.domain import Actor, NewCustomer, Origin
from alix.customers.service import create_customers, update_customer
from alix.db.session import unit_of_work
from tests.integration.sync_pull.conftest import World

from .conftest import FailingFake, world_named


def _account(name: str, **extra: object) -> dict[str, object]:
    return {"Account_Name": name, "Currency": "CAD", **extra}


def _seed(world: World) -> None:
    """The same Zoho data and ALIX namesakes in any world: creates, a link by name, an
    ambiguous name, a rejection, contacts with and without an imported Account, a custom
    address module's records (the Default one pairs with the Account's main address)."""
    with unit_of_work(world.ctx.sessions) as session:
        create_customers(session, world.ctx.actor, [
            NewCustomer({"name": n, "currency": "CAD"}) for n in ("Initech", "Twin", "twin")],
            clock=world.clock)
    acme, globex, bad, _initech, twin = world.zoho(
        "Accounts",
        _account("Acme", Phone="555 0000", Billing_Street="1 Main St", Billing_City="Toronto",
                 Billing_Country="Canada"),
        _account("Globex", Website="globex.example"),
        _account("Bad", Currency="XYZ"),
        _account("Initech", Phone="555 0101"),
        _account("Twin"))
    world.zoho("Contacts",
               {"Last_Name": "Smith", "Email": "s@acme.example", "Account_Name": {"id": acme}},
               {"Last_Name": "Jones", "First_Name": "Al", "Account_Name": {"id": globex}},
               {"Last_Name": "Lost", "Account_Name": {"id": bad}},
               {"Last_Name": "Waits", "Account_Name": {"id": twin}},
               {"Last_Name": "Orphan"})
    world.zoho("Billing_Addresses",
               {"Name": "Head office", "Account": {"id": acme}, "Default": True,
                "Street": "1 Main St", "City": "Toronto", "Country": "Canada"},
               {"Name": "Depot", "Account": {"id": acme}, "Street": "9 Dock Rd",
                "City": "Hamilton", "Country": "Canada"},
               {"Name": "Globex HQ", "Account": {"id": globex}, "City": "Ottawa",
                "Country": "Canada"})


def _snapshot(world: World) -> dict[str, Any]:
    """What a person sees of an import, without ids or times that differ between worlds."""
    customers = {r.id: r for r in world.rows_by_id().values()}
    contacts = {r.id: r for r in world.contacts()}
    places = {r.id: r for r in world.addresses()}

    def who(kind: str, alix_id: int) -> tuple[Any, ...]:
        if kind == "customer":
            return (customers[alix_id].name,)
        if kind == "contact":
            c = contacts[alix_id]
            return (customers[c.customer_id].name, c.last_name)
        a = places[alix_id]
        return (customers[a.customer_id].name, a.kind, a.label, a.city)

    return {
        "customers": sorted((c.name, c.currency, c.website, c.phone, c.is_active, c.version,
                             c.created_at, c.updated_at) for c in customers.values()),
        "contacts": sorted((customers[c.customer_id].name, c.first_name, c.last_name, c.email,
                            c.is_primary, c.version, c.created_at, c.updated_at)
                           for c in contacts.values()),
        "addresses": sorted((customers[a.customer_id].name, a.kind, a.is_main, a.label,
                             a.street, a.city, a.country, a.version, a.created_at, a.updated_at)
                            for a in places.values()),
        "links": sorted((link.kind, link.zoho_id, who(link.kind, link.alix_id),
                         repr(sorted(link.base.items())), link.base_modified_time,
                         link.base_version, link.tombstoned_at, link.created_at)
                        for link in world.links()),
        # ALIX ids differ between the worlds: an ambiguous match names its candidates by id.
        "issues": sorted((i.kind, i.code, i.zoho_id, re.sub(r"customers [\d, ]+", "", i.message))
                         for i in world.issues()),
    }


def test_the_fast_path_and_the_normal_path_import_the_same(engine: Engine,
                                                            backend: str) -> None:
    fast, normal = world_named(engine, "Fast Ltd"), world_named(engine, "Normal Ltd")
    for world in (fast, normal):
        _seed(world)
    fast_report = fast.pull(initial=True)
    normal_report = normal.pull()  # an incremental pull from nothing: the normal path
    assert fast_report.counts == normal_report.counts
    assert (fast_report.counts["created"], fast_report.counts["linked"]) == (7, 2)
    assert _snapshot(fast) == _snapshot(normal)
    codes = sorted(i.code for i in fast.issues())
    assert codes == ["ambiguous", "parent_missing", "parent_missing", "rejected"]
    # The normal path records every create as a `skipped` outbox row; the fast path writes
    # none, and neither leaves anything for the push to send back.
    # Updates of linked records keep theirs on both paths.
    def history(world: World) -> list[tuple[str, str, str]]:
        return sorted((r.entity, r.operation, r.status) for r in world.outbox())

    # The 7 creates: Acme, Globex, Smith, Jones, Acme's main billing address, Depot, Globex HQ.
    created = [("customer", "create", "skipped")] * 2 + [("contact", "create", "skipped")] * 2 \
        + [("address", "create", "skipped")] * 3
    assert history(normal) == sorted(history(fast) + created)
    assert {r.status for r in fast.outbox() + normal.outbox()} == {"skipped"}


def test_after_a_fast_import_an_edit_on_both_sides_is_a_conflict(engine: Engine,
                                                                  backend: str) -> None:
    world = world_named(engine, "Fast Ltd")
    [acme] = world.zoho("Accounts", _account("Acme", Phone="555 0000", Website="acme.example"))
    world.pull(initial=True)
    alix_id = world.customers()["Acme"].id
    world.clock.advance(60)
    with unit_of_work(world.ctx.sessions) as session:
        user = Actor(world.scope.organisation_id, world.ctx.actor.user_id, Origin.USER)
        update_customer(session, user, alix_id, {"phone": "555 0100"}, clock=world.clock)
    world.clock.advance(60)
    asyncio.run(world.crm.update("Accounts", [{"id": acme, "Phone": "555 0199",
                                               "Website": "acme.example/new"}]))
    world.pull()
    [conflict] = world.issues()
    assert (conflict.code, conflict.field, conflict.zoho_id) == ("conflict", "phone", acme)
    acme_row = world.customers()["Acme"]
    # The field only Zoho changed is taken; the one both changed keeps ALIX's value.
    assert (acme_row.phone, acme_row.website) == ("555 0100", "acme.example/new")


def crash_and_resume(world: World, **options: Any) -> None:
    """23 Accounts with a Contact each, read 5 at a time (pull `options` beside) from a Zoho
    that dies in the middle of the third page: the two pages before are kept whole, nothing of
    the third, and the next run imports the rest, nothing twice."""
    names = [f"Company {i:02d}" for i in range(23)]
    accounts = world.zoho("Accounts", *[_account(n) for n in names])
    world.zoho("Contacts", *[{"Last_Name": f"Person {i}", "Account_Name": {"id": a}}
                             for i, a in enumerate(accounts)])
    crm = world.crm
    assert isinstance(crm, FailingFake)
    crm.fail_after = 12
    with pytest.raises(ConnectionError):
        world.pull(initial=True, page_size=5, **options)
    assert len(world.customers()) == 10
    crm.fail_after = None
    second = world.pull(initial=True, page_size=5, **options)
    assert sorted(world.customers()) == names
    assert len(world.contacts()) == 23
    assert len(world.links()) == 46 and world.issues() == []
    assert second.counts["created"] == 13 + 23


def test_a_crash_after_a_page_resumes_with_exact_counts(engine: Engine, backend: str) -> None:
    world = world_named(engine, "Fast Ltd", FailingFake)
    crash_and_resume(world)
    assert world.pull(initial=True).counts["created"] == 0


def test_a_page_with_rejected_records_still_commits_the_others(engine: Engine,
                                                                backend: str) -> None:
    world = world_named(engine, "Fast Ltd")
    [good, bad, other] = world.zoho("Accounts", _account("Good"),
                                    _account("Bad", Currency="XYZ"), _account("Other"))
    world.zoho("Contacts", {"Last_Name": "L" * 101, "Account_Name": {"id": good}},
               {"Last_Name": "Kept", "Account_Name": {"id": other}},
               {"Last_Name": "Ok", "Email": "not an email", "Account_Name": {"id": good}})
    report = world.pull(initial=True)
    assert sorted(world.customers()) == ["Good", "Other"]
    assert [c.last_name for c in world.contacts()] == ["Kept"]
    rejected = sorted(i.zoho_id for i in world.issues() if i.code == "rejected")
    assert bad in rejected and len(rejected) == 3
    assert report.counts["rejected"] == 3
    assert len(world.links()) == 3
