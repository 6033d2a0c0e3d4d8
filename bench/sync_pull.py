"""Initial pull of N Accounts (2 Contacts each) from the emulator into SQLite, against the
client's raw read of the same records in the same run.

    .venv/bin/python bench/sync_pull.py [--accounts 10000] [--page-size 200]

Prints a table: records, seconds and records/s of the raw read (client.iter_records of every
module the pull walks, same fields) and of the pull (read + plan + apply + commit per page).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from alix import models as _models  # noqa: F401 - every table on metadata (the registry)
from alix.clock import utc_now
from alix.customers.service import sync_actor
from alix.db import migrate
from alix.db.engine import make_engine
from alix.db.session import make_session_factory
from alix.identity.service import create_organisation
from alix.integrations.zoho_crm.client import InMemoryTokenStore, ZohoCrmClient
from alix.integrations.zoho_crm.config import (
    MappedField,
    MapperConfig,
    ModuleConfig,
    SyncConfiguration,
)
from alix.integrations.zoho_crm.mappers import MapperKind, ModuleKind
from alix.integrations.zoho_crm.rules import ConflictPolicy, DeletePolicy, Direction
from alix.integrations.zoho_crm.sync.engine.context import SyncContext
from alix.integrations.zoho_crm.sync.engine.pull import _fields, run_pull, steps_of
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.tables import ZohoConnection
from zoho_emulator.testing import EmulatorServer

B = Direction.BOTH


def _rows(*rows: tuple[str, str, str, str]) -> tuple[MappedField, ...]:
    return tuple(MappedField(a, c, B, at, ct, None) for a, c, at, ct in rows)


def configuration(connection_id: int, organisation_id: int) -> SyncConfiguration:
    """Customers (name, currency, website, phone), contacts, and the main billing address."""
    customer = _rows(("name", "Account_Name", "text", "text"),
                     ("currency", "Currency", "currency", "picklist"),
                     ("website", "Website", "url", "website"), ("phone", "Phone", "phone", "phone"))
    contact = _rows(("email", "Email", "email", "email"),
                    ("last_name", "Last_Name", "text", "text"),
                    ("first_name", "First_Name", "text", "text"),
                    ("phone", "Phone", "phone", "phone"))
    billing = _rows(("street", "Billing_Street", "long_text", "textarea"),
                    ("city", "Billing_City", "text", "text"),
                    ("province", "Billing_State", "subdivision", "text"),
                    ("postal_code", "Billing_Code", "text", "text"),
                    ("country", "Billing_Country", "country", "text"))
    off = (ModuleKind.MAIN_SHIPPING, ModuleKind.BILLING, ModuleKind.SHIPPING)

    def module(kind: ModuleKind, crm: str, mappers: tuple[MapperConfig, ...]) -> ModuleConfig:
        return ModuleConfig(kind, kind not in off, crm, None, mappers)

    return SyncConfiguration(
        connection_id=connection_id, organisation_id=organisation_id, version=1,
        zoho_org_id="60012345", multi_currency=True, home_currency="CAD",
        conflict_policy=ConflictPolicy.ASK, delete_crm_to_alix=DeletePolicy.MARK_INACTIVE,
        delete_alix_to_crm=DeletePolicy.IGNORE,
        modules=(
            module(ModuleKind.CUSTOMERS, "Accounts", (
                MapperConfig(MapperKind.CUSTOMER, "Accounts", customer),
                MapperConfig(MapperKind.CONTACT, "Contacts", contact))),
            module(ModuleKind.MAIN_BILLING, "Accounts", (
                MapperConfig(MapperKind.MAIN_BILLING, "Accounts", billing),)),
            module(ModuleKind.MAIN_SHIPPING, "Accounts", (
                MapperConfig(MapperKind.MAIN_SHIPPING, "Accounts", ()),)),
            module(ModuleKind.BILLING, "Billing_Addresses", (
                MapperConfig(MapperKind.BILLING, "Billing_Addresses", ()),)),
            module(ModuleKind.SHIPPING, "Shipping_Addresses", (
                MapperConfig(MapperKind.SHIPPING, "Shipping_Addresses", ()),)),
        ),
    )


async def bench(accounts: int, page_size: int) -> None:
    started = time.perf_counter()
    with EmulatorServer(accounts=accounts, contacts_per_account=2, seed=1) as emu, \
            tempfile.TemporaryDirectory() as tmp:
        print(f"emulator seeded with {accounts} accounts in {time.perf_counter() - started:.1f} s")
        url = f"sqlite:///{Path(tmp) / 'alix.db'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        now = datetime.now(UTC)
        with sessions.begin() as session:
            org = create_organisation(session, "Bench Ltd", ["CAD", "USD", "EUR", "GBP"])
            connection = ZohoConnection(
                organisation_id=org.id, status="connected", location="us",
                accounts_url=emu.base_url, api_domain=emu.base_url, zoho_org_id="60012345",
                zoho_org_name="Maple", edition="Enterprise", zoho_user_id="1",
                zoho_user_name="Admin", zoho_user_email="admin@example.com",
                zoho_user_time_zone="UTC", scopes="ZohoCRM.modules.ALL", config_version=1,
                conflict_policy="ask", delete_crm_to_alix="mark_inactive",
                delete_alix_to_crm="ignore", crm_schema={}, created_at=now)
            session.add(connection)
            session.flush()
            scope = SyncScope(org.id, connection.id)
            actor = sync_actor(session, org.id)
        config = configuration(scope.connection_id, scope.organisation_id)
        creds = emu.self_client()
        async with ZohoCrmClient.connect(
            client_id=creds["client_id"], client_secret=creds["client_secret"],
            refresh_token=creds["refresh_token"], connection_id="bench",
            store=InMemoryTokenStore(), override_url=emu.base_url,
        ) as crm:
            raw_started = time.perf_counter()
            raw = 0
            for step in steps_of(config):
                async for _record in crm.iter_records(step.module, _fields(config, step)):
                    raw += 1
            raw_secs = time.perf_counter() - raw_started
            ctx = SyncContext(scope, config, crm, actor, sessions, utc_now)
            pull_started = time.perf_counter()
            report = await run_pull(ctx, initial=True, page_size=page_size)
            pull_secs = time.perf_counter() - pull_started
        pulled = sum(report.read.values())
        print(f"{'':<28}{'records':>10}{'seconds':>10}{'records/s':>12}")
        print(f"{'client raw read':<28}{raw:>10}{raw_secs:>10.1f}{raw / raw_secs:>12,.0f}")
        print(f"{'initial pull into SQLite':<28}{pulled:>10}{pull_secs:>10.1f}"
              f"{pulled / pull_secs:>12,.0f}")
        print(f"pull / raw time: {pull_secs / raw_secs:.2f}x; outcomes: "
              + ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(bench(args.accounts, args.page_size))


if __name__ == "__main__":
    main()
