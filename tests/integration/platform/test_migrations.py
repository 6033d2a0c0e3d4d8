"""Migrations go up and down on both databases, match the models, and guard app start."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from alix.bootstrap import build_container
from alix.db import migrate
from alix.db import models as _models  # noqa: F401
from alix.db.base import metadata
from alix.web.app import create_app
from tests.support import POSTGRES_URL, make_settings, postgres_url


@pytest.fixture
def fresh_url(backend: str, tmp_path, request):  # type: ignore[no-untyped-def]
    """An empty database of its own (a new SQLite file, or a new PostgreSQL schema)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    schema = f"{request.getfixturevalue('pg_schema')}_m"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield postgres_url(schema)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_upgrade_downgrade_upgrade(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    engine = create_engine(fresh_url)
    assert "users" in inspect(engine).get_table_names()
    migrate.downgrade(fresh_url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(fresh_url)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()


def test_migrations_match_the_models(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    engine = create_engine(fresh_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == [], "models and migrations disagree; write a migration"


def test_the_app_refuses_an_unmigrated_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    container = build_container(make_settings(url), with_runner=False)
    with pytest.raises(migrate.DatabaseNotMigrated, match="alix db upgrade"):
        create_app(container)
    container.close()
