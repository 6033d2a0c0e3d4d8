"""`/metrics`: what Prometheus scrapes after a sync, and who may scrape it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from alix.bootstrap import build_container
from alix.customers.domain import Actor, Origin
from alix.customers.service import update_customer
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client.credits import CreditMeter
from alix.integrations.zoho_crm.metering import Usage
from alix.integrations.zoho_crm.sync.kinds import LinkKind
from alix.integrations.zoho_crm.sync.store.issues import Direction, Report, record_issue
from alix.web.app import create_app
from alix.web.metrics import record_api_usage
from tests.integration.sync_pull.conftest import World, make_world
from tests.support import make_settings

TOKEN = "metrics-token-" + "y" * 30


@pytest.fixture
def world(backend: str, engine: Engine) -> World:
    return make_world(engine)


@pytest.fixture
def scraper(world: World) -> Iterator[TestClient]:
    url = world.engine.url.render_as_string(hide_password=False)
    container = build_container(make_settings(url, metrics_token=TOKEN), engine=world.engine,
                                clock=world.clock, with_runner=False)
    with TestClient(create_app(container)) as client:
        yield client


def _scrape(client: TestClient) -> dict[str, float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for line in response.text.splitlines():
        match = re.fullmatch(r"([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)", line)
        if match:
            samples[match[1]] = float(match[2])
    return samples


def _account(name: str) -> dict[str, object]:
    return {"Account_Name": name, "Currency": "CAD"}


def test_anonymous_and_wrong_token_scrapes_are_refused(scraper: TestClient) -> None:
    assert scraper.get("/metrics").status_code == 401
    wrong = scraper.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert "alix_" not in wrong.text


def test_no_token_configured_refuses_every_scrape(client: TestClient) -> None:
    response = client.get("/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code in (401, 403)
    assert client.get("/metrics", headers={"Authorization": "Bearer x"}).status_code == 403


def test_counters_after_a_pull_an_edit_and_an_issue(world: World, scraper: TestClient) -> None:
    [acme, _] = world.zoho("Accounts", _account("Acme"), _account("Globex"))
    world.zoho("Contacts", {"Last_Name": "Smith", "Account_Name": {"id": acme}})
    world.pull(initial=True)
    with unit_of_work(world.ctx.sessions) as session:
        record_issue(session, world.scope, Report(Direction.PUSH, LinkKind.CUSTOMER,
                                                  "INVALID_DATA", "Zoho rejected it.",
                                                  alix_id=1), world.clock())
    # An ALIX edit: an outbox row (and a queued push job) waiting since now.
    acme_id = world.customers()["Acme"].id
    container = scraper.app.state.container  # type: ignore[attr-defined]
    editor = Actor(world.scope.organisation_id, world.ctx.actor.user_id, Origin.API)
    with unit_of_work(container.session_factory) as session:
        update_customer(session, editor, acme_id, {"website": "https://acme.example"},
                        clock=world.clock)
    world.clock.advance(42)

    samples = _scrape(scraper)
    assert samples['alix_sync_records_pulled_total{module="Accounts"}'] == 2
    assert samples['alix_sync_records_pulled_total{module="Contacts"}'] == 1
    assert samples['alix_sync_pull_outcomes_total{outcome="created"}'] == 3
    assert samples['alix_sync_issues_open{direction="push"}'] == 1
    assert samples['alix_sync_issues_open{direction="pull"}'] == 0
    assert samples['alix_sync_pending_changes{direction="push"}'] == 1
    assert samples['alix_sync_oldest_pending_seconds{direction="push"}'] == 42
    assert samples['alix_sync_oldest_pending_seconds{direction="pull"}'] == 0
    assert samples["alix_jobs_queued"] == 1
    assert samples["alix_jobs_oldest_queued_seconds"] == 42


def test_api_calls_and_credits_of_closed_clients_are_counted(scraper: TestClient) -> None:
    before = _scrape(scraper)
    meter = CreditMeter()
    meter.record("get_records", 1, {})
    meter.record("update", 3, {"x-api-credits-remaining": "120"})
    record_api_usage(Usage.since(meter, 0, 0))
    after = _scrape(scraper)
    assert after["alix_zoho_api_calls_total"] - before.get("alix_zoho_api_calls_total", 0) == 2
    assert after["alix_zoho_api_credits_total"] - before.get("alix_zoho_api_credits_total",
                                                            0) == 4
    assert after["alix_zoho_api_credits_remaining"] == 120
