"""The callback endpoint: channel and token checked, hints stored once, one worker job queued."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from starlette.testclient import TestClient

from alix.bootstrap import Container, build_container
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.sync.engine.channels import digest, zoho_channels
from alix.integrations.zoho_crm.sync.engine.context import lane_key
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.sync.store.tables import zoho_inbox
from alix.jobs.tables import Job
from alix.web.app import create_app
from tests.integration.sync_store.conftest import NOW, add_connection
from tests.support import make_settings

CHANNEL = "100000000000000042"
TOKEN = "a-secret-of-forty-characters-0123456789a"
URL = f"/integrations/zoho-crm/notifications/{CHANNEL}"
METRICS_TOKEN = "metrics-token-" + "z" * 30
REPLAYS = "alix_zoho_notification_replays_total"


@pytest.fixture
def scope(container: Container) -> SyncScope:
    with unit_of_work(container.session_factory) as session:
        made = add_connection(session, "Acme Ltd")
        session.execute(insert(zoho_channels).values(
            channel_id=CHANNEL, **made.stamp(), token_digest=digest(TOKEN),
            events=["Accounts.all"], expires_at=None, created_at=NOW))
    return made


def body(token: str = TOKEN, **extra: Any) -> dict[str, Any]:
    return {"server_time": 1747216596000, "query_params": {}, "module": "Accounts",
            "resource_uri": "https://www.zohoapis.com/crm/v2/Accounts",
            "ids": ["5725767000004130005"],
            "affected_fields": [{"5725767000004130005": ["Phone"]}],
            "affected_values": [{"record_id": "5725767000004130005",
                                 "values": {"Phone": "0113 000 0000"}}],
            "operation": "update", "channel_id": CHANNEL, "token": token, **extra}


def count(container: Container, what: Any, *where: Any) -> int:
    with container.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(what).where(*where)) or 0)


def test_a_callback_is_stored_once_and_wakes_the_worker_once(
    client: TestClient, container: Container, scope: SyncScope
) -> None:
    first = client.post(URL, json=body())
    assert first.status_code == 200, first.text
    assert client.post(URL, json=body()).status_code == 200  # Zoho's duplicate
    other = body(ids=["5725767000004130006"], affected_values=[], operation="insert")
    assert client.post(URL, json=other).status_code == 200
    with container.session_factory() as session:
        rows = session.execute(select(zoho_inbox).order_by(zoho_inbox.c.id)).all()
    assert [(r.zoho_id, r.operation, r.affected) for r in rows] == [
        ("5725767000004130005", "update", {"Phone": "0113 000 0000"}),
        ("5725767000004130006", "insert", None),
    ]
    assert rows[0].connection_id == scope.connection_id
    jobs = count(container, Job.__table__, Job.task == "zoho_crm.hints",
                 Job.lease_key == lane_key(scope.connection_id))
    assert jobs == 1


@pytest.mark.parametrize("path, payload", [
    (URL, body(token="forged")),
    (URL, body(token=None)),
    (URL, body(token=TOKEN[:-1])),
    ("/integrations/zoho-crm/notifications/999", body()),
    (URL, body(channel_id="999")),
])
def test_forged_or_unknown_callbacks_are_refused_without_detail(
    client: TestClient, container: Container, scope: SyncScope, path: str,
    payload: dict[str, Any]
) -> None:
    response = client.post(path, json=payload)
    assert response.status_code == 403
    assert response.json() == {"detail": "Forbidden."}
    assert count(container, zoho_inbox) == 0
    assert count(container, Job.__table__) == 0


def test_not_json_is_refused(client: TestClient, scope: SyncScope) -> None:
    response = client.post(URL, content=b"not json", headers={"Content-Type": "text/plain"})
    assert response.status_code == 403


@pytest.fixture
def scraped(container: Container) -> Iterator[TestClient]:
    """The app with /metrics enabled, over the same database."""
    url = container.engine.url.render_as_string(hide_password=False)
    metered = build_container(make_settings(url, metrics_token=METRICS_TOKEN),
                              engine=container.engine, with_runner=False)
    with TestClient(create_app(metered)) as client:
        yield client


def replays(client: TestClient) -> float:
    text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    found = re.search(rf"^{REPLAYS} ([0-9.e+]+)$", text, re.MULTILINE)
    assert found, text
    return float(found[1])


def test_a_callback_delivered_twice_is_counted_as_a_replay(
    scraped: TestClient, container: Container, scope: SyncScope
) -> None:
    before = replays(scraped)
    assert scraped.post(URL, json=body()).status_code == 200
    assert replays(scraped) == before  # the first delivery is news
    assert scraped.post(URL, json=body()).status_code == 200  # Zoho delivers it again
    assert scraped.post(URL, json=body(ids=["5725767000004130006"], affected_values=[],
                                       operation="insert")).status_code == 200
    assert replays(scraped) == before + 1
    assert count(container, zoho_inbox) == 2  # the replay changed nothing
