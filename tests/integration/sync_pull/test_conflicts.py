"""Conflicts the policy settles are journaled as resolved issues; open ones wait for a person."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from alix.customers.domain import Actor, Origin
from alix.customers.service import update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.rules import ConflictPolicy
from tests.integration.sync_pull.conftest import World, make_world
from tests.unit.sync.configuration import configuration


def both_change_phone(world: World, *, alix_last: bool) -> tuple[str, int]:
    [acme] = world.zoho("Accounts", {"Account_Name": "Acme", "Currency": "CAD",
                                     "Phone": "555 0000"})
    world.pull(initial=True)
    alix_id = world.customers()["Acme"].id

    def alix() -> None:
        with unit_of_work(world.ctx.sessions) as session:
            user = Actor(world.scope.organisation_id, world.ctx.actor.user_id, Origin.USER)
            update_customer(session, user, alix_id, {"phone": "555 0100"}, clock=world.clock)

    def zoho() -> None:
        asyncio.run(world.crm.update("Accounts", [{"id": acme, "Phone": "555 0199"}]))

    first, second = (zoho, alix) if alix_last else (alix, zoho)
    world.clock.advance(60)
    first()
    world.clock.advance(60)
    second()
    return acme, alix_id


def test_a_conflict_the_crm_wins_is_journaled_as_resolved(engine: Engine, backend: str) -> None:
    world = make_world(engine, configuration(policy=ConflictPolicy.CRM_WINS))
    acme, alix_id = both_change_phone(world, alix_last=True)
    world.pull()
    assert world.customers()["Acme"].phone == "555 0199"
    assert world.issues() == []
    [entry] = world.issues("resolved")
    assert (entry.code, entry.field, entry.zoho_id, entry.alix_id) == (
        "conflict_settled", "phone", acme, alix_id)
    assert entry.details == {"base": "555 0000", "alix": "555 0100", "crm": "555 0199",
                             "winner": "crm"}
    assert "Zoho won with '555 0199'; ALIX had '555 0100'" in entry.message


def test_a_conflict_alix_wins_is_journaled_once_until_pushed(engine: Engine,
                                                            backend: str) -> None:
    world = make_world(engine, configuration(policy=ConflictPolicy.ALIX_WINS))
    acme, _alix_id = both_change_phone(world, alix_last=True)
    world.pull()
    assert world.customers()["Acme"].phone == "555 0100"
    [entry] = world.issues("resolved")
    assert entry.details is not None and entry.details["winner"] == "alix"
    # Zoho changes another field before the push ran: the same conflict is found again,
    # journaled already.
    world.clock.advance(60)
    asyncio.run(world.crm.update("Accounts", [{"id": acme, "Website": "acme.example"}]))
    world.pull()
    assert world.customers()["Acme"].website == "acme.example"
    assert len(world.issues("resolved")) == 1


def test_an_open_conflict_is_an_open_issue_and_nothing_is_settled(engine: Engine,
                                                                 backend: str) -> None:
    world = make_world(engine, configuration(policy=ConflictPolicy.ASK))
    both_change_phone(world, alix_last=False)
    world.pull()
    assert world.customers()["Acme"].phone == "555 0100"
    [issue] = world.issues()
    assert (issue.code, issue.field) == ("conflict", "phone")
    assert world.issues("resolved") == []
