"""A migrated database with one organisation and its Zoho connection, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alix.identity.service import create_organisation
from alix.integrations.zoho_crm.sync.store.scope import SyncScope
from alix.integrations.zoho_crm.tables import ZohoConnection

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def add_connection(session: Session, name: str) -> SyncScope:
    org = create_organisation(session, name, ["CAD"], clock=lambda: NOW)
    connection = ZohoConnection(
        organisation_id=org.id, status="connected", location="us",
        accounts_url="https://accounts.zoho.com", api_domain="https://www.zohoapis.com",
        zoho_org_id="60012345", zoho_org_name=name, edition="Enterprise",
        zoho_user_id="5725767000000411001", zoho_user_name="Admin",
        zoho_user_email="admin@example.com", zoho_user_time_zone="UTC",
        scopes="ZohoCRM.modules.ALL",
        config_version=1, conflict_policy="ask", delete_crm_to_alix="ignore",
        delete_alix_to_crm="ignore", crm_schema={}, created_at=NOW,
    )
    session.add(connection)
    session.flush()
    return SyncScope(org.id, connection.id)


@pytest.fixture
def session(backend: str, engine: Engine) -> Iterator[Session]:
    """A session on the backend under test; tests commit when they mean to."""
    with Session(engine) as s:
        yield s


@pytest.fixture
def scope(session: Session) -> SyncScope:
    made = add_connection(session, "Acme Ltd")
    session.commit()
    return made


@pytest.fixture
def other(session: Session) -> SyncScope:
    """A second organisation's connection: its rows must never show up in the first's."""
    made = add_connection(session, "Globex Corp")
    session.commit()
    return made
