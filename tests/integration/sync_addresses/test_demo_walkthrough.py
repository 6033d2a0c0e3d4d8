"""The seed's walk-through on the demo's own data: the emulator seeded as `alix demo` seeds it,
an organisation with the demo's currencies, Customers and the four address modules switched on
as the user guide says; the first synchronization imports every Account and leaves no record
needing attention."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alix.customers.tables import customers
from alix.demo import DEMO_CURRENCIES, EMULATOR_DATA
from alix.identity.tables import Organisation
from alix.integrations.zoho_crm.sync.store.tables import zoho_sync_issues
from tests.integration.sync_addresses.test_seed_addresses import activate_addresses
from tests.integration.sync_pull.test_emulator import _call, activate_customers, run_job
from tests.integration.zoho_settings.conftest import (
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    Alix,
    alix,
    connect,
    zoho_container,
)
from zoho_emulator.testing import EmulatorServer

__all__ = ["alix", "zoho_container"]


def _demo_seed() -> dict[str, int]:
    """EMULATOR_DATA ("--accounts", "200", ...) as EmulatorServer's arguments."""
    flags = dict(zip(EMULATOR_DATA[::2], EMULATOR_DATA[1::2], strict=True))
    return {name.removeprefix("--").replace("-", "_"): int(value)
            for name, value in flags.items()}


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(**_demo_seed(),  # type: ignore[arg-type]
                        register_clients=[(CLIENT_ID, CLIENT_SECRET, CALLBACK)]) as server:
        yield server


def test_the_demo_imports_every_account_with_nothing_needing_attention(
    alix: Alix, emu: EmulatorServer
) -> None:
    with alix.container.session_factory.begin() as session:
        org = session.get(Organisation, alix.admin.organisation_id)
        assert org is not None
        org.currencies = list(DEMO_CURRENCIES)
    connect(alix.http, emu)
    activate_customers(alix)
    activate_addresses(alix)
    started = _call(alix, "POST", "/sync", {})
    assert started.status_code == 202, started.text
    job = run_job(alix.container, started.json()["job_id"])
    assert "done" in job.progress_message, job.progress_message
    organisation_id = alix.admin.organisation_id
    with Session(alix.container.engine) as session:
        needing_attention = session.execute(select(zoho_sync_issues.c.message).where(
            zoho_sync_issues.c.organisation_id == organisation_id,
            zoho_sync_issues.c.status == "open")).scalars().all()
        imported = session.execute(select(func.count()).select_from(customers).where(
            customers.c.organisation_id == organisation_id)).scalar_one()
    assert list(needing_attention) == []
    assert imported == _demo_seed()["accounts"]
