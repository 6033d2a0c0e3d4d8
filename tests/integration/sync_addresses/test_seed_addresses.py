"""The emulator's demo seed with the four address modules on, set up on Details' API: the
initial import rejects no address, the custom modules' default records are the Account's main
addresses, and neither a second sync nor a push writes anything to Zoho."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from alix.customers.tables import addresses, customers
from alix.integrations.zoho_crm.repository import connected
from alix.integrations.zoho_crm.sync.engine.context import open_context
from alix.integrations.zoho_crm.sync.engine.push import push
from alix.integrations.zoho_crm.sync.store.tables import zoho_links, zoho_sync_issues
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

__all__ = ["alix", "zoho_container"]  # the settings tests' fixtures, used here too

ACCOUNTS = 24
PLACE = ("street", "city", "country", "province", "postal_code")
MODULES = (  # Details' address modules: (module, mapper, CRM module of a custom one)
    ("main_billing_address", "main_billing_address", None),
    ("main_shipping_address", "main_shipping_address", None),
    ("billing_addresses", "billing_addresses", "Billing_Addresses"),
    ("shipping_addresses", "shipping_addresses", "Shipping_Addresses"),
)


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(accounts=ACCOUNTS, addresses_per_account=2,
                        register_clients=[(CLIENT_ID, CLIENT_SECRET, CALLBACK)]) as server:
        yield server


def activate_addresses(alix: Alix) -> None:
    """Each address module as the user guide says: CRM module, required rows, the toggle."""
    for module, mapper, crm_module in MODULES:
        fields = PLACE if crm_module is None else (*PLACE, "is_main", "label")
        if crm_module is not None:
            chosen = _call(alix, "PATCH", f"/modules/{module}", {"crm_module": crm_module})
            assert chosen.status_code == 200, chosen.text
        for name in fields:
            row = _call(alix, "POST", f"/mappers/{mapper}/rows").json()["id"]
            edited = _call(alix, "PATCH", f"/mappers/{mapper}/rows/{row}", {"alix_field": name})
            assert edited.status_code == 200, edited.text
        on = _call(alix, "PATCH", f"/modules/{module}", {"active": True})
        assert on.status_code == 200, on.text


def _writes(emu: EmulatorServer) -> int:
    calls: dict[str, int] = emu.control("stats")["calls"]
    return sum(n for name, n in calls.items()
               if name.split(" ")[0] in ("POST", "PUT", "PATCH", "DELETE")
               and "/crm/" in name and "oauth" not in name and "coql" not in name
               and "search" not in name)


def _push(alix: Alix) -> dict[str, int]:
    container = alix.container
    with Session(container.engine) as session:
        connection_id = connected(session, alix.admin.organisation_id).id
    factory = container.zoho.crm_factory

    async def run() -> dict[str, int]:
        async with open_context(container.session_factory, connection_id, factory,
                                container.clock) as ctx:
            return (await push(ctx)).counts

    return asyncio.run(run())


def test_the_seeds_four_address_modules_import_without_rejections(
    alix: Alix, emu: EmulatorServer, backend: str
) -> None:
    connect(alix.http, emu)
    activate_customers(alix)
    activate_addresses(alix)
    details = alix.http.get("/settings/integrations/zoho-crm").text
    assert details.count("data-main-address-rule") == len(MODULES)
    assert "marked Default at the same street, city, postal code and country" in details
    started = _call(alix, "POST", "/sync", {})
    assert started.status_code == 202, started.text
    job = run_job(alix.container, started.json()["job_id"])
    assert "done" in job.progress_message, job.progress_message
    org = alix.admin.organisation_id
    with Session(alix.container.engine) as session:
        issues: list[Any] = list(session.execute(select(zoho_sync_issues).where(
            zoho_sync_issues.c.organisation_id == org,
            zoho_sync_issues.c.status == "open")).all())
        imported = {r.id for r in session.execute(select(customers.c.id).where(
            customers.c.organisation_id == org)).all()}
        rows = {r.id: r for r in session.execute(select(addresses).where(
            addresses.c.organisation_id == org)).all()}
        links: list[Any] = list(session.execute(select(zoho_links).where(
            zoho_links.c.organisation_id == org)).all())
    assert imported
    refused = [i.message for i in issues if i.code == "rejected" and i.kind != "customer"]
    assert refused == []
    # Every imported Account's main billing address, and its default Billing Addresses record
    # (the same street, city, postal code and country in the seed): one ALIX address.
    mains = {r.customer_id: r.id for r in rows.values() if r.kind == "billing" and r.is_main}
    assert set(mains) == imported
    by_kind: dict[str, dict[int, str]] = {}
    for link in links:
        by_kind.setdefault(link.kind, {})[link.alix_id] = link.zoho_id
    assert set(mains.values()) <= set(by_kind["billing_address"])
    assert set(mains.values()) == set(by_kind["main_billing_address"])
    # The second record of each custom module is an additional, non-main address.
    assert sum(1 for r in rows.values() if r.kind == "billing" and not r.is_main) == len(imported)

    again = _call(alix, "POST", "/sync", {"initial": False})
    job = run_job(alix.container, again.json()["job_id"])
    assert "nothing changed" in job.progress_message
    before = _writes(emu)
    counts = _push(alix)
    assert counts.get("updated", 0) == counts.get("created", 0) == 0, counts
    assert _writes(emu) == before
