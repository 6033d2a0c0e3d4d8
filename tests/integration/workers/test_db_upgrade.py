"""`alix db upgrade` on a procrastinate deployment also creates procrastinate's job tables, so a
web process can defer jobs before any worker has ever started."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from alix.cli import main
from tests.support import POSTGRES_URL, TEST_SECRET, postgres_url


@pytest.mark.postgres
def test_db_upgrade_creates_procrastinates_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = f"t_upgrade_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        for name, value in {"ALIX_DATABASE_URL": postgres_url(schema),
                            "ALIX_ENVIRONMENT": "test", "ALIX_SECRET_KEY": TEST_SECRET,
                            "ALIX_JOBS_ENGINE": "procrastinate",
                            "ALIX_RUN_JOBS_IN_PROCESS": "false"}.items():
            monkeypatch.setenv(name, value)
        assert main(["db", "upgrade"]) == 0
        with admin.connect() as conn:
            found = conn.execute(text(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = :s AND table_name = 'procrastinate_jobs'"),
                {"s": schema}).scalar_one()
        assert found == 1
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
