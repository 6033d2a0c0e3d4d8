"""Shared fixtures: databases on SQLite and PostgreSQL (isolated per run), app, logins."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from starlette.testclient import TestClient

from alix.bootstrap import Container, build_container
from alix.db import migrate
from alix.db.engine import make_engine
from alix.identity.tables import Role
from alix.models import metadata  # the table registry: every table of ALIX
from alix.web.app import create_app
from tests import loop_guard
from tests.support import (
    POSTGRES_URL,
    Account,
    login,
    make_account,
    make_settings,
    postgres_url,
)

loop_guard.install()


@pytest.fixture(autouse=True)
def _no_database_call_on_the_event_loop() -> Iterator[None]:
    """A route that reads or writes the database on the web app's loop fails its test
    (tests/loop_guard.py says why)."""
    start = len(loop_guard.SEEN)
    yield
    found = loop_guard.SEEN[start:]
    if found:
        shown = "\n".join(sorted(set(found))[:10])
        pytest.fail(f"{len(found)} statements ran on the web app's event loop:\n{shown}")


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A schema of its own for this test run, dropped at the end: runs never collide."""
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # a clear message instead of a wall of errors
        pytest.exit(f"PostgreSQL at {POSTGRES_URL} is not usable: {exc}", returncode=3)
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'alix.db'}"}


_migrated: set[str] = set()


def _migrated_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        url = postgres_url(request.getfixturevalue("pg_schema"))
    else:
        url = request.getfixturevalue("database_urls")["sqlite"]
    if url not in _migrated:
        migrate.upgrade(url)
        _migrated.add(url)
    return url


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Parametrizes a test over both databases; use it for storage and sync tests."""
    return str(request.param)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database: both backends when the test asks for `backend`."""
    chosen = request.getfixturevalue("backend") if "backend" in request.fixturenames else "sqlite"
    url = _migrated_url(chosen, request)
    eng = make_engine(url)
    _wipe(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def container(engine: Engine) -> Iterator[Container]:
    c = build_container(make_settings(str(engine.url.render_as_string(False))), engine=engine,
                        with_runner=False)
    yield c


@pytest.fixture
def app(container: Container):  # type: ignore[no-untyped-def]
    return create_app(container)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def admin(container: Container) -> Account:
    return make_account(container, "Acme Ltd", "admin@acme.example", Role.ADMIN)


@pytest.fixture
def member(container: Container, admin: Account) -> Account:
    return make_account(container, "Acme Ltd", "member@acme.example", Role.MEMBER)


@pytest.fixture
def other_org_admin(container: Container) -> Account:
    return make_account(container, "Globex Corp", "admin@globex.example", Role.ADMIN)


@pytest.fixture
def admin_client(client: TestClient, admin: Account) -> TestClient:
    login(client, admin)
    return client

