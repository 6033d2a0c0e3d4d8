"""`alix demo`'s organisation trades in every currency its emulated CRM uses."""

from __future__ import annotations

from alix.demo import DEMO_CURRENCIES, EMULATOR_DATA
from zoho_emulator.__main__ import parse
from zoho_emulator.seed import SeedSpec, seed_org
from zoho_emulator.state import EmulatorState


def _demo_crm() -> EmulatorState:
    """The CRM `alix demo` starts: the emulator seeded with the demo's own arguments."""
    args = parse(list(EMULATOR_DATA))
    state = EmulatorState(edition=args.edition)
    spec = SeedSpec(args.accounts, args.contacts_per_account, args.addresses_per_account,
                    args.seed)
    seed_org(state.default_org, spec, state.now())
    return state


def test_the_demo_organisation_has_every_currency_of_the_demo_crm() -> None:
    org = _demo_crm().default_org
    accounts = org.store("Accounts").records.values()
    used = {str(record["Currency"]) for record in accounts}
    assert len(accounts) == 200 and used, "the demo seeds Accounts with currencies"
    assert used <= set(DEMO_CURRENCIES), f"Accounts in {sorted(used - set(DEMO_CURRENCIES))} " \
        "would be rejected by the demo organisation"
    # A CRM user may pick any currency of the org, not only those the seed happened to use.
    assert {c.iso_code for c in org.currencies} <= set(DEMO_CURRENCIES)
    assert DEMO_CURRENCIES[0] == org.home_currency.iso_code
