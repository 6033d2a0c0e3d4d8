"""Both sides' records in the model's terms: which entity each is, and its tracked values.

A record belongs to the entity whose key field (customer name, contact last name) once held its
key value; a contact's parent is the entity of its customer (ALIX) or Account (Zoho).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .crm_user import CrmRecord
from .model import FIELDS, KEY_FIELD, Kind, Ledger, Side


@dataclass(frozen=True)
class Rec:
    """One record of one side, with the model's field names (`is_active`, `parent`)."""

    side: Side
    kind: Kind
    id: str
    entity: str | None
    values: dict[str, Any]


@dataclass
class View:
    """One side at one moment: records by entity, and records of no known entity."""

    side: Side
    by_entity: dict[str, list[Rec]] = field(default_factory=lambda: defaultdict(list))
    strangers: list[Rec] = field(default_factory=list)

    def one(self, entity: str) -> Rec | None:
        found = self.by_entity.get(entity) or []
        return found[0] if found else None

    def records(self) -> list[Rec]:
        return [r for rs in self.by_entity.values() for r in rs] + self.strangers


def _add(view: View, rec: Rec) -> None:
    if rec.entity is None:
        view.strangers.append(rec)
    else:
        view.by_entity[rec.entity].append(rec)


def alix_view(ledger: Ledger, found: Sequence[Any], people: Sequence[Any],
              places: Sequence[Any]) -> View:
    view = View(Side.ALIX)
    parent_of: dict[int, str] = {}
    main = {a.customer_id: a for a in places if a.kind == "billing" and a.is_main}
    for row in found:
        entity = ledger.owner(Kind.CUSTOMER, row.name)
        if entity is not None:
            parent_of[row.id] = entity
        billing = main.get(row.id)
        _add(view, Rec(Side.ALIX, Kind.CUSTOMER, str(row.id), entity, {
            "name": row.name, "phone": row.phone, "website": row.website,
            "street": billing.street if billing else None,
            "city": billing.city if billing else None,
            "address_id": billing.id if billing else None,
            "is_active": bool(row.is_active)}))
    for row in people:
        _add(view, Rec(Side.ALIX, Kind.CONTACT, str(row.id),
                       ledger.owner(Kind.CONTACT, row.last_name), {
            "first_name": row.first_name, "last_name": row.last_name, "email": row.email,
            "phone": row.phone,
            "parent": parent_of.get(row.customer_id, f"?alix:{row.customer_id}")}))
    return view


def zoho_view(ledger: Ledger, accounts: Sequence[CrmRecord], contacts: Sequence[CrmRecord]
              ) -> View:
    view = View(Side.ZOHO)
    parent_of: dict[str, str] = {}
    for r in accounts:
        v = r.values
        entity = ledger.owner(Kind.CUSTOMER, v["Account_Name"])
        if entity is not None:
            parent_of[r.id] = entity
        _add(view, Rec(Side.ZOHO, Kind.CUSTOMER, r.id, entity, {
            "name": v["Account_Name"], "phone": v["Phone"], "website": v["Website"],
            "street": v["Billing_Street"], "city": v["Billing_City"],
            "is_active": bool(v["Active"])}))
    for r in contacts:
        v = r.values
        account = v["Account_Name"]
        _add(view, Rec(Side.ZOHO, Kind.CONTACT, r.id, ledger.owner(Kind.CONTACT, v["Last_Name"]), {
            "first_name": v["First_Name"], "last_name": v["Last_Name"], "email": v["Email"],
            "phone": v["Phone"],
            "parent": parent_of.get(account, f"?zoho:{account}") if account else None}))
    return view


def observe(ledger: Ledger, view: View) -> list[str]:
    """The side's user looks at every record: they learn the writes behind its values. Returns
    the values no user ever wrote there (each a sentence)."""
    odd: list[str] = []
    for entity, recs in view.by_entity.items():
        ledger.entities[entity].seen_on.add(view.side)
        for rec in recs:
            for name in FIELDS[rec.kind]:
                value = rec.values[name]
                if ledger.observe(view.side, entity, name, value) is None:
                    odd.append(f"{view.side} {rec.kind} {rec.id} ({entity}) shows {name}="
                               f"{value!r}, which no user wrote")
    return odd


def key_of(rec: Rec) -> str:
    return str(rec.values[KEY_FIELD[rec.kind]])
