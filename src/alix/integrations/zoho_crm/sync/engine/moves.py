"""A Contact a CRM user moved to another Account: its ALIX contact moves to that customer.

The merge treats a contact's Account as one more synced value (kinds.ACCOUNT), so a move on
one side reaches the other and moves on both sides are a conflict the policy settles. This is
the pull's half: the merge says the CRM's Account wins; the contact moves (through the
customer master, as the sync actor, so the push has no echo to send) to the ALIX customer
linked to that Account. When it cannot (the Account is not imported, or the Contact has no
Account any more: an ALIX contact always belongs to a customer), the contact stays, the base
keeps the old Account so nothing is pushed back over the CRM user's edit, and an issue says
why (retried while the Account may still arrive).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.orm import Session

from alix.customers import repository as repo
from alix.customers.contacts import move_contact
from alix.customers.domain import Actor
from alix.integrations.zoho_crm.sync.kinds import ACCOUNT, LinkKind
from alix.integrations.zoho_crm.sync.plan import PageState, PullDecision


@dataclass(frozen=True)
class Unmoved:
    """A move the pull could not make, as an issue: code, sentence, whether it is retried."""

    decision: PullDecision
    code: str
    message: str
    retry: bool


@dataclass
class Moves:
    decisions: list[PullDecision] = field(default_factory=list)  # bases fixed where unmoved
    versions: dict[int, int] = field(default_factory=dict)  # contact id -> version after it
    unmoved: list[Unmoved] = field(default_factory=list)


def _keep_old_account(decision: PullDecision, state: PageState) -> PullDecision:
    link = state.links.get((decision.kind, decision.zoho_id))
    base = dict(decision.base or {})
    base[ACCOUNT] = None if link is None else link.base.get(ACCOUNT)
    return replace(decision, base=base)


def _customers_alive(session: Session, organisation_id: int, ids: Sequence[int]) -> set[int]:
    # A customer deleted in ALIX whose deletion is not pushed yet still has its live link.
    if not ids:
        return set()
    return {c.id for c in repo.customers_by_ids(session, organisation_id, sorted(set(ids)))}


def move_contacts(session: Session, actor: Actor, now: datetime,
                  decisions: Sequence[PullDecision], state: PageState) -> Moves:
    """Move the contacts whose merge took the CRM's Account; the decisions come back with
    their base kept at the old Account where the move could not be made."""
    moves = Moves()
    alive = _customers_alive(session, actor.organisation_id, [
        link.alix_id for d in decisions
        if d.kind is LinkKind.CONTACT and d.values and d.values.get(ACCOUNT) is not None
        and (link := state.links.get((LinkKind.CUSTOMER, str(d.values[ACCOUNT])))) is not None])
    for decision in decisions:
        if decision.kind is not LinkKind.CONTACT or ACCOUNT not in (decision.values or {}):
            moves.decisions.append(decision)
            continue
        account = decision.values[ACCOUNT]
        target = None if account is None else state.links.get((LinkKind.CUSTOMER, str(account)))
        what = f"Zoho Contacts record {decision.zoho_id}"
        if account is None:
            moves.unmoved.append(Unmoved(decision, "account_removed", (
                f"{what} no longer has an Account in Zoho; its ALIX contact "
                f"{decision.alix_id} stays with its customer (in ALIX a contact always "
                "belongs to one): give the Contact an Account in Zoho, or move it in ALIX."),
                retry=False))
        elif target is None or target.tombstoned or target.alix_id not in alive:
            moves.unmoved.append(Unmoved(decision, "parent_missing", (
                f"{what} was moved to Account {account}, which is not (or no longer) a "
                "customer in ALIX: "
                f"its ALIX contact {decision.alix_id} moves once the Account is."), retry=True))
        else:
            moved = move_contact(session, actor, int(decision.alix_id or 0), target.alix_id,
                                 clock=lambda: now)
            moves.versions[moved.id] = moved.version
            moves.decisions.append(decision)
            continue
        moves.decisions.append(_keep_old_account(decision, state))
    return moves
