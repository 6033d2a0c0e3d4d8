"""`/metrics` shows the Zoho API calls and credits a job worker spent: the worker (a process
without the web app, so without its in-process counters) stores them, any web process's scrape
reads them back per connection."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import Engine

from alix.bootstrap import Container, build_container
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.metering import meter_of
from alix.integrations.zoho_crm.sync.engine.context import CrmFactory, http_crm_factory
from alix.integrations.zoho_crm.tables import ZohoConnection
from alix.settings import Settings
from tests.integration.sync_pull.test_emulator import activate_customers
from tests.integration.zoho_settings.conftest import (
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    PUBLIC,
    Alix,
    alix,
    api_headers,
    connect,
)
from tests.support import make_settings
from zoho_emulator.testing import EmulatorServer

TOKEN = "metrics-token-" + "w" * 30
API = "/api/v1/integrations/zoho-crm"

__all__ = ["alix"]  # the settings tests' fixture, used here with this module's container


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(accounts=12, contacts_per_account=1,
                        register_clients=[(CLIENT_ID, CLIENT_SECRET, CALLBACK)]) as server:
        yield server


def _settings(engine: Engine, emu: EmulatorServer) -> Settings:
    return make_settings(
        engine.url.render_as_string(False), zoho_client_id=CLIENT_ID,
        zoho_client_secret=CLIENT_SECRET, zoho_accounts_url=emu.base_url, public_url=PUBLIC,
        metrics_token=TOKEN,
    )


@pytest.fixture
def zoho_container(engine: Engine, emu: EmulatorServer) -> Container:
    """The web process's container (the `alix` fixture serves it)."""
    return build_container(_settings(engine, emu), engine=engine, with_runner=False)


class Spending:
    """Opens the production clients and keeps each one's meter: what the worker spent."""

    def __init__(self, factory: CrmFactory) -> None:
        self._factory = factory
        self.calls = 0
        self.credits = 0

    @asynccontextmanager
    async def __call__(self, connection: ZohoConnection) -> AsyncIterator[ZohoCrm]:
        async with self._factory(connection) as crm:
            yield crm
        meter = meter_of(crm)
        assert meter is not None
        self.calls += meter.calls
        self.credits += meter.spent


@pytest.fixture
def worker(alix: Alix) -> Iterator[Container]:
    """A job worker's container: its own runner, no web app (so no web metrics)."""
    worker = build_container(alix.container.settings, engine=alix.container.engine,
                             with_runner=True)
    yield worker
    worker.close()


def _spy(worker: Container) -> Spending:
    """Let the worker open its production clients through a `Spending`."""
    spending = Spending(http_crm_factory(worker.settings, worker.engine, worker.clock))
    worker.use_zoho(crm_factory=spending)
    return spending


def _sync(alix: Alix, worker: Container, initial: bool) -> None:
    started = alix.http.post(API + "/sync", json={"initial": initial},
                             headers=api_headers(alix.http))
    assert started.status_code == 202, started.text
    assert worker.runner is not None
    assert asyncio.run(worker.runner.run_job(started.json()["job_id"]))


def _stored(alix: Alix) -> dict[str, float]:
    response = alix.http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    found = {}
    for line in response.text.splitlines():
        match = re.fullmatch(r'alix_zoho_api_(calls|credits)_stored_total\{connection="(\d+)",'
                             r'organisation="(\d+)"\} ([0-9.e+-]+)', line)
        if match:
            found[f"{match[1]} {match[2]} {match[3]}"] = float(match[4])
    return found


def test_a_workers_api_usage_is_scraped_from_the_database(
    alix: Alix, worker: Container, emu: EmulatorServer, backend: str
) -> None:
    connect(alix.http, emu)
    activate_customers(alix)
    spending = _spy(worker)
    _sync(alix, worker, initial=True)
    assert spending.credits > 0
    org = alix.admin.organisation_id
    [labels] = {key.split(" ", 1)[1] for key in _stored(alix)}
    assert labels.endswith(f" {org}")
    assert _stored(alix) == {f"calls {labels}": spending.calls,
                             f"credits {labels}": spending.credits}
    # A second run adds to the totals; the web process spent nothing of it itself.
    before = spending.credits
    _sync(alix, worker, initial=False)
    assert spending.credits > before
    assert _stored(alix)[f"credits {labels}"] == spending.credits
