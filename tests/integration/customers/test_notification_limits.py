"""The Zoho callback endpoint refuses oversized bodies and expired channels (issue 17)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select
from starlette.testclient import TestClient

from alix.bootstrap import Container
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.sync.engine.channels import digest, zoho_channels
from alix.integrations.zoho_crm.sync.store.tables import zoho_inbox
from tests.integration.sync_store.conftest import NOW, add_connection

CHANNEL = "100000000000000077"
TOKEN = "another-secret-of-forty-characters-01234"
URL = f"/integrations/zoho-crm/notifications/{CHANNEL}"


def _channel(container: Container, expires_in: timedelta | None) -> None:
    expires = None if expires_in is None else container.clock() + expires_in
    with unit_of_work(container.session_factory) as session:
        made = add_connection(session, "Acme Ltd")
        session.execute(insert(zoho_channels).values(
            channel_id=CHANNEL, **made.stamp(), token_digest=digest(TOKEN),
            events=["Accounts.all"], expires_at=expires, created_at=NOW))


def _body(ids: list[str]) -> dict[str, object]:
    return {"module": "Accounts", "ids": ids, "operation": "insert",
            "channel_id": CHANNEL, "token": TOKEN}


def test_an_8_mb_callback_with_a_valid_token_is_413_and_stores_nothing(
    client: TestClient, container: Container
) -> None:
    _channel(container, None)
    ids = [f"57257670000{n:08d}" for n in range(8 * 1024 * 1024 // 22)]
    response = client.post(URL, json=_body(ids))
    assert response.status_code == 413
    with container.session_factory() as session:
        assert session.execute(select(zoho_inbox)).first() is None


def test_a_callback_of_zohos_largest_size_is_accepted(
    client: TestClient, container: Container
) -> None:
    _channel(container, None)
    # 100 records (Zoho's per-call maximum) with 50 changed fields of 255 characters each.
    values = {f"Field_{n}": "x" * 255 for n in range(50)}
    body = {**_body([f"57257670000{n:08d}" for n in range(100)]), "operation": "update",
            "affected_values": [{"record_id": f"57257670000{n:08d}", "values": values}
                                for n in range(100)]}
    assert client.post(URL, json=body).status_code == 200


@pytest.mark.parametrize("expires_in, status", [(timedelta(seconds=-1), 403),
                                                (timedelta(hours=1), 200)])
def test_an_expired_channel_is_refused(
    client: TestClient, container: Container, expires_in: timedelta, status: int
) -> None:
    _channel(container, expires_in)
    assert client.post(URL, json=_body(["5725767000004130005"])).status_code == status
