"""The two users of a scenario: one in ALIX (through the customer services), one in Zoho CRM
(through the emulator's REST API as another user). Each looks at their side before acting,
records what they write in the ledger, and notes what their deletes took with them."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from alix.customers.addresses import add_address, update_address
from alix.customers.contacts import add_contact, move_contact, remove_contact, update_contact
from alix.customers.domain import NewCustomer
from alix.customers.service import create_customer, delete_customer, set_active, update_customer
from alix.db.session import unit_of_work

from .model import Entity, Kind, Ledger, Side
from .views import Rec, View, alix_view, observe, zoho_view
from .world import World

EDITABLE = {Kind.CUSTOMER: ("name", "phone", "website", "street", "city"),
            Kind.CONTACT: ("first_name", "last_name", "email", "phone")}
CRM_NAMES = {Kind.CUSTOMER: {"name": "Account_Name", "phone": "Phone", "website": "Website",
                             "street": "Billing_Street", "city": "Billing_City"},
             Kind.CONTACT: {"first_name": "First_Name", "last_name": "Last_Name",
                            "email": "Email", "phone": "Phone"}}
# The untracked parts of every main billing address (Montréal's), the same everywhere.
PLACE = {"country": "CA", "province": "QC", "postal_code": "H2X 1Y4"}
CRM_PLACE = {"Billing_Country": "CA", "Billing_State": "QC", "Billing_Code": "H2X 1Y4"}
ACTIONS = ("create_customer", "edit_customer", "deactivate_customer", "delete_customer",
           "create_contact", "edit_contact", "move_contact", "delete_contact")
WEIGHTS = (2, 6, 1, 1, 2, 6, 2, 1)


class User:
    """What both users share: looking, choosing, recording."""

    side: Side

    def __init__(self, world: World, ledger: Ledger, rng: random.Random,
                 odd: list[str], story: list[str], hot: list[tuple[str, str, Side]]) -> None:
        self.hot = hot  # recent edits of both users: (entity, field, side)
        self.forced_hot = False
        self.world = world
        self.ledger = ledger
        self.rng = rng
        self.odd = odd
        self.story = story

    def view(self) -> View:
        raise NotImplementedError

    def look(self) -> View:
        seen = self.view()
        self.odd.extend(f"{self.world.clock().isoformat()}: {o}"
                        for o in observe(self.ledger, seen))
        return seen

    def act(self) -> None:
        """One random action on what the user sees; nothing when it has no target."""
        action = self.rng.choices(ACTIONS, WEIGHTS)[0]
        seen = self.look()
        getattr(self, action)(seen)

    def edit_hot(self) -> None:
        """Edit a field the other user edited lately, if this user sees its record."""
        seen = self.look()
        self.forced_hot = True
        try:
            first = self.rng.choice((Kind.CUSTOMER, Kind.CONTACT))
            for kind in (first, Kind.CONTACT if first is Kind.CUSTOMER else Kind.CUSTOMER):
                if self._hot(seen, kind):
                    getattr(self, f"edit_{kind.value}")(seen)
                    return
        finally:
            self.forced_hot = False

    def tell(self, what: str) -> None:
        self.story.append(f"{self.world.clock().isoformat()} {self.side}: {what}")

    # Targets: live records whose customer is active on this side (a user leaves the
    # inactive ones alone), one record per entity; records the other user deleted meanwhile
    # included (this user cannot know yet).

    def customers(self, seen: View) -> list[Rec]:
        return [rs[0] for e, rs in sorted(seen.by_entity.items())
                if rs[0].kind is Kind.CUSTOMER and rs[0].values["is_active"]]

    def contacts(self, seen: View) -> list[Rec]:
        active = {r.entity for r in self.customers(seen)}
        return [rs[0] for e, rs in sorted(seen.by_entity.items())
                if rs[0].kind is Kind.CONTACT and rs[0].values["parent"] in active]

    def new_values(self, kind: Kind) -> dict[str, str]:
        return {name: self.ledger.fresh(name) for name in EDITABLE[kind]}

    def record_new(self, kind: Kind, values: dict[str, str], parent: str | None = None
                   ) -> Entity:
        entity = self.ledger.new_entity(kind, self.side)
        now = self.world.clock()
        for name, value in values.items():
            self.ledger.write(self.side, entity.key, name, value, now)
        if parent is not None:
            self.ledger.write(self.side, entity.key, "parent", parent, now)
        return entity

    def pick_edit(self, seen: View, kind: Kind) -> tuple[Rec, str, str] | None:
        """A field to edit: often one the other user edited lately (a likely conflict)."""
        targets = self.customers(seen) if kind is Kind.CUSTOMER else self.contacts(seen)
        if not targets:
            return None
        rec = self.rng.choice(targets)
        name = self.rng.choice(EDITABLE[kind])
        hot = self._hot(seen, kind)
        if hot and (self.forced_hot or self.rng.random() < 0.5):
            rec, name = self.rng.choice(hot)
        return rec, name, self.ledger.fresh(name)

    def _hot(self, seen: View, kind: Kind) -> list[tuple[Rec, str]]:
        targets = self.customers(seen) if kind is Kind.CUSTOMER else self.contacts(seen)
        by_entity = {r.entity: r for r in targets}
        return [(by_entity[e], n) for e, n, side in self.hot[-4:]
                if side is not self.side and e in by_entity and n in EDITABLE[kind]]

    def pick_move(self, seen: View) -> tuple[Rec, Rec] | None:
        for rec in self.rng.sample(self.contacts(seen), k=len(self.contacts(seen))):
            assert rec.entity is not None
            had = {w.value for w in self.ledger.writes(rec.entity, "parent")}
            targets = [c for c in self.customers(seen) if c.entity not in had]
            if targets:
                return rec, self.rng.choice(targets)
        return None

    def note_gone(self, before: View, deleted: Callable[[], None]) -> None:
        """Run a delete; every entity it took from this side is deleted by this user."""
        deleted()
        after = self.view()
        for entity in set(before.by_entity) - set(after.by_entity):
            target = self.ledger.entities[entity]
            target.deleted_on.add(self.side)
            self.tell(f"deleted {entity}")

    def written(self, rec: Rec, name: str, value: str) -> None:
        assert rec.entity is not None
        self.hot.append((rec.entity, name, self.side))
        self.ledger.write(self.side, rec.entity, name, value, self.world.clock())
        self.tell(f"{rec.entity}.{name} = {value!r}")

    def deactivated(self, rec: Rec) -> None:
        assert rec.entity is not None
        self.ledger.entities[rec.entity].deactivated = True
        self.tell(f"deactivated {rec.entity}")


class AlixUser(User):
    side = Side.ALIX

    def view(self) -> View:
        return alix_view(self.ledger, *self.world.alix_tables())

    def _do(self, command: Callable[[Any], object]) -> None:
        with unit_of_work(self.world.sessions) as session:
            command(session)

    def create_customer(self, _seen: View | None = None) -> None:
        values = self.new_values(Kind.CUSTOMER)
        entity = self.record_new(Kind.CUSTOMER, values)
        people = [self.new_values(Kind.CONTACT) for _ in range(self.rng.randint(0, 2))]
        for person in people:
            self.record_new(Kind.CONTACT, person, entity.key)
        w = self.world
        own = {k: v for k, v in values.items() if k not in ("street", "city")}
        billing = {"kind": "billing", "is_main": True, "street": values["street"],
                   "city": values["city"], **PLACE}
        self._do(lambda s: create_customer(
            s, w.actor, NewCustomer({**own, "currency": "CAD"}, contacts=people,
                                    addresses=[billing]),
            clock=w.clock))
        self.tell(f"created {entity.key} {values} with {len(people)} contact(s)")

    def edit_customer(self, seen: View) -> None:
        picked = self.pick_edit(seen, Kind.CUSTOMER)
        if picked:
            rec, name, value = picked
            w = self.world
            address = rec.values["address_id"]
            if name not in ("street", "city"):
                self._do(lambda s: update_customer(s, w.actor, int(rec.id), {name: value},
                                                   clock=w.clock))
            elif address is not None:
                self._do(lambda s: update_address(s, w.actor, int(address), {name: value},
                                                  clock=w.clock))
            else:
                self._do(lambda s: add_address(s, w.actor, int(rec.id), {
                    "kind": "billing", "is_main": True, name: value, **PLACE},
                    clock=w.clock))
            self.written(rec, name, value)

    def deactivate_customer(self, seen: View) -> None:
        targets = self.customers(seen)
        if targets:
            rec = self.rng.choice(targets)
            w = self.world
            self._do(lambda s: set_active(s, w.actor, [int(rec.id)], False, clock=w.clock))
            self.deactivated(rec)

    def delete_customer(self, seen: View) -> None:
        targets = self.customers(seen)
        if targets:
            rec = self.rng.choice(targets)
            w = self.world
            self.note_gone(seen, lambda: self._do(
                lambda s: delete_customer(s, w.actor, int(rec.id), clock=w.clock)))

    def create_contact(self, seen: View) -> None:
        targets = self.customers(seen)
        if targets:
            parent = self.rng.choice(targets)
            assert parent.entity is not None
            values = self.new_values(Kind.CONTACT)
            entity = self.record_new(Kind.CONTACT, values, parent.entity)
            w = self.world
            self._do(lambda s: add_contact(s, w.actor, int(parent.id), values, clock=w.clock))
            self.tell(f"created {entity.key} {values} under {parent.entity}")

    def edit_contact(self, seen: View) -> None:
        picked = self.pick_edit(seen, Kind.CONTACT)
        if picked:
            rec, name, value = picked
            w = self.world
            self._do(lambda s: update_contact(s, w.actor, int(rec.id), {name: value},
                                              clock=w.clock))
            self.written(rec, name, value)

    def move_contact(self, seen: View) -> None:
        picked = self.pick_move(seen)
        if picked:
            rec, target = picked
            assert target.entity is not None
            w = self.world
            self._do(lambda s: move_contact(s, w.actor, int(rec.id), int(target.id),
                                            clock=w.clock))
            self.written(rec, "parent", target.entity)

    def delete_contact(self, seen: View) -> None:
        targets = self.contacts(seen)
        if targets:
            rec = self.rng.choice(targets)
            w = self.world
            self.note_gone(seen, lambda: self._do(
                lambda s: remove_contact(s, w.actor, int(rec.id), clock=w.clock)))


class ZohoUser(User):
    side = Side.ZOHO

    def view(self) -> View:
        crm = self.world.crm_user
        return zoho_view(self.ledger, crm.records("Accounts"), crm.records("Contacts"))

    def _account_values(self, values: dict[str, str]) -> dict[str, Any]:
        names = CRM_NAMES[Kind.CUSTOMER]
        return {names[k]: v for k, v in values.items()}

    def create_customer(self, _seen: View | None = None) -> None:
        values = self.new_values(Kind.CUSTOMER)
        entity = self.record_new(Kind.CUSTOMER, values)
        crm = self.world.crm_user
        account = crm.create("Accounts", {**self._account_values(values), "Active": True,
                                          "Currency": "CAD", **CRM_PLACE})
        self.tell(f"created {entity.key} {values} (Account {account})")
        for _ in range(self.rng.randint(0, 2)):
            self._new_contact(account, entity.key)

    def _new_contact(self, account: str, parent: str) -> None:
        values = self.new_values(Kind.CONTACT)
        entity = self.record_new(Kind.CONTACT, values, parent)
        names = CRM_NAMES[Kind.CONTACT]
        self.world.crm_user.create("Contacts", {
            **{names[k]: v for k, v in values.items()}, "Account_Name": {"id": account}})
        self.tell(f"created {entity.key} {values} under {parent}")

    def edit_customer(self, seen: View) -> None:
        picked = self.pick_edit(seen, Kind.CUSTOMER)
        if picked:
            rec, name, value = picked
            self.world.crm_user.update("Accounts", rec.id, {CRM_NAMES[Kind.CUSTOMER][name]: value})
            self.written(rec, name, value)

    def deactivate_customer(self, seen: View) -> None:
        targets = self.customers(seen)
        if targets:
            rec = self.rng.choice(targets)
            self.world.crm_user.update("Accounts", rec.id, {"Active": False})
            self.deactivated(rec)

    def delete_customer(self, seen: View) -> None:
        targets = self.customers(seen)
        if targets:
            rec = self.rng.choice(targets)
            self.note_gone(seen, lambda: self.world.crm_user.delete("Accounts", rec.id))

    def create_contact(self, seen: View) -> None:
        targets = self.customers(seen)
        if targets:
            parent = self.rng.choice(targets)
            assert parent.entity is not None
            self._new_contact(parent.id, parent.entity)

    def edit_contact(self, seen: View) -> None:
        picked = self.pick_edit(seen, Kind.CONTACT)
        if picked:
            rec, name, value = picked
            self.world.crm_user.update("Contacts", rec.id, {CRM_NAMES[Kind.CONTACT][name]: value})
            self.written(rec, name, value)

    def move_contact(self, seen: View) -> None:
        picked = self.pick_move(seen)
        if picked:
            rec, target = picked
            assert target.entity is not None
            self.world.crm_user.update("Contacts", rec.id, {"Account_Name": {"id": target.id}})
            self.written(rec, "parent", target.entity)

    def delete_contact(self, seen: View) -> None:
        targets = self.contacts(seen)
        if targets:
            rec = self.rng.choice(targets)
            self.note_gone(seen, lambda: self.world.crm_user.delete("Contacts", rec.id))

