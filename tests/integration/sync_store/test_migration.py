"""Migration 0005 keeps the integration's settings while SQLite rebuilds zoho_connections."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from alix.db import migrate
from alix.db.engine import make_engine

ORG = "INSERT INTO organisations (id, name, currencies, created_at) VALUES (1, 'A', '[]', :now)"
CONNECTION = """
INSERT INTO zoho_connections (id, organisation_id, status, location, accounts_url, api_domain,
    zoho_org_id, zoho_org_name, edition, zoho_user_id, zoho_user_name, zoho_user_email,
    zoho_user_time_zone, scopes, config_version, conflict_policy, delete_crm_to_alix,
    delete_alix_to_crm, crm_schema, created_at)
VALUES (7, 1, 'connected', 'us', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'UTC', 's', 3, 'ask',
    'ignore', 'ignore', '{}', :now)
"""
NOW = "2024-05-01 12:00:00.000000"


def test_sqlite_rebuild_keeps_modules_and_mappings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url, "0004")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(ORG), {"now": NOW})
        conn.execute(text(CONNECTION), {"now": NOW})
        conn.execute(text("INSERT INTO zoho_modules (connection_id, kind, active) "
                          "VALUES (7, 'customers', 1)"))
        conn.execute(text("INSERT INTO zoho_field_mappings (connection_id, mapper, direction) "
                          "VALUES (7, 'customer', 'both')"))

    def state() -> tuple[object, ...]:
        with engine.connect() as conn:
            return (
                conn.execute(text("SELECT id, config_version FROM zoho_connections")).all(),
                conn.execute(text("SELECT connection_id, kind FROM zoho_modules")).all(),
                conn.execute(text("SELECT connection_id, mapper FROM zoho_field_mappings")).all(),
                conn.execute(text("PRAGMA foreign_key_check")).all(),
            )

    def ddl() -> str:
        with engine.connect() as conn:
            return str(conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE name = 'zoho_connections'")).scalar_one())

    before = state()
    assert before[0] == [(7, 3)] and before[1] and before[2]
    migrate.upgrade(url)
    assert state() == before
    assert "AUTOINCREMENT" in ddl()
    migrate.downgrade(url, "0004")
    assert state() == before
    assert "AUTOINCREMENT" not in ddl()
    engine.dispose()
