"""Migrations go up and down on both databases, match the models, and guard app start."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, delete, func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alix.bootstrap import build_container
from alix.customers.tables import addresses, contact_persons, customers
from alix.db import migrate
from alix.db.engine import make_engine
from alix.identity.service import create_organisation
from alix.models import metadata
from alix.web.app import create_app
from tests.support import POSTGRES_URL, make_settings, postgres_url

ID_TABLES = (customers, contact_persons, addresses)


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


def _check_in_a_fresh_interpreter(url: str) -> subprocess.CompletedProcess[str]:
    # Alembic's autogenerate check through env.py, in a process that imported nothing else:
    # in this one, the app's and the tests' imports register tables env.py may not know. It
    # prints the tables env.py's imports registered.
    script = ("import sys; from alembic import command; from alix.db import migrate; "
              "from alix.db.base import metadata; "
              "command.check(migrate.alembic_config(sys.argv[1])); "
              "print(' '.join(sorted(metadata.tables)))")
    return subprocess.run([sys.executable, "-c", script, url], capture_output=True, text=True,
                          timeout=120, check=False)


def test_migrations_match_the_models_env_py_registers(fresh_url: str) -> None:
    migrate.upgrade(fresh_url)
    checked = _check_in_a_fresh_interpreter(fresh_url)
    assert checked.returncode == 0, (
        "models and migrations disagree (write a migration), or env.py does not import every "
        f"module defining tables:\n{checked.stdout}\n{checked.stderr}")
    # Every table the app defines (this process imported all of it) is in the registry.
    assert checked.stdout.splitlines()[-1].split() == sorted(metadata.tables)


def _fill(url: str) -> int:
    """An organisation with three customers, their contacts and addresses, the newest
    customer deleted again; the first customer's id."""
    engine = make_engine(url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        org = create_organisation(session, "Acme Ltd", ["CAD"]).id
        stamps = {"organisation_id": org, "version": 1, "created_at": now, "updated_at": now}
        ids = []
        for name in ("One", "Two", "Three"):
            cid = session.execute(insert(customers).values(
                name=name, name_key=name.lower(), currency="CAD", is_active=True, **stamps,
            ).returning(customers.c.id)).scalar_one()
            ids.append(cid)
            session.execute(insert(contact_persons), [
                {"customer_id": cid, "last_name": last, "is_primary": last == "Ada", **stamps}
                for last in ("Ada", "Babbage")])
            session.execute(insert(addresses), [
                {"customer_id": cid, "kind": kind, "is_main": main, "city": city, **stamps}
                for kind, main, city in (("billing", True, "Laval"), ("billing", False, "Lyon"),
                                         ("shipping", True, "Oslo"))])
        session.execute(delete(customers).where(customers.c.id == ids[-1]))
    engine.dispose()
    return ids[0]


def _rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = {t.name: [tuple(r) for r in conn.execute(select(t).order_by(t.c.id))]
                 for t in ID_TABLES}
    engine.dispose()
    return found


def _sqlite_schema(conn) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(conn.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")).all())


def test_0008_rebuilds_the_id_tables_keeping_data_indexes_and_keys(
    backend: str, fresh_url: str
) -> None:
    migrate.upgrade(fresh_url, "0007")
    first = _fill(fresh_url)
    before = _rows(fresh_url)
    migrate.upgrade(fresh_url)
    assert _rows(fresh_url) == before
    engine = make_engine(fresh_url)
    with engine.begin() as conn:
        if backend == "sqlite":
            schema = _sqlite_schema(conn)
            assert all("AUTOINCREMENT" in schema[t.name] for t in ID_TABLES)
            assert "WHERE is_main" in schema["uq_addresses_one_main_per_kind"]
            assert {"ix_customers_org_name_key", "ix_contact_persons_customer_id",
                    "ix_addresses_customer_id"} <= set(schema)
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            # The sequences start where the rows end (what was deleted before is unknown).
            seeded = dict(conn.execute(text("SELECT name, seq FROM sqlite_sequence")).all())
            assert {t.name: seeded[t.name] for t in ID_TABLES} == {
                name: max(r[0] for r in rows) for name, rows in before.items()}
        # Still at most one main address per kind, and any number of others.
        org = before["customers"][0][1]
        at = datetime(2026, 1, 2, tzinfo=UTC)
        row = {"organisation_id": org, "customer_id": first, "kind": "billing", "version": 1,
               "created_at": at, "updated_at": at}
        conn.execute(insert(addresses).values(is_main=False, **row))
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(insert(addresses).values(is_main=True, **row))
        # The children's foreign keys still point at (and cascade from) the customers table.
        conn.execute(delete(customers).where(customers.c.id == first))
        left = [conn.execute(select(func.count()).select_from(t).where(
            t.c.customer_id == first)).scalar_one() for t in (contact_persons, addresses)]
        assert left == [0, 0]
    engine.dispose()
    migrate.downgrade(fresh_url, "0007")
    if backend == "sqlite":
        engine = make_engine(fresh_url)
        with engine.connect() as conn:
            assert "AUTOINCREMENT" not in _sqlite_schema(conn)["customers"]
        engine.dispose()
    migrate.upgrade(fresh_url)


def test_the_app_refuses_an_unmigrated_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    container = build_container(make_settings(url), with_runner=False)
    with pytest.raises(migrate.DatabaseNotMigrated, match="alix db upgrade"):
        create_app(container)
    container.close()
