"""Shared fixtures: databases on SQLite and PostgreSQL (isolated per run), app, logins."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from starlette.testclient import TestClient

from alix.bootstrap import Container, build_container
from alix.db import migrate
from alix.db import models as _models  # noqa: F401 - every table on metadata
from alix.db.base import metadata
from alix.db.engine import make_engine
from alix.db.session import unit_of_work
from alix.identity.model import Organisation, Role, User
from alix.identity.service import create_organisation, create_user
from alix.settings import Settings
from alix.web.app import create_app

POSTGRES_URL = os.environ.get(
    "ALIX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_SECRET = "test-secret-key-" + "x" * 40
PASSWORD = "correct horse battery"


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


def postgres_url(schema: str) -> str:
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


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


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": url,
        "secret_key": TEST_SECRET,
        "public_url": "http://testserver",
        "run_jobs_in_process": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


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


@dataclass
class Account:
    """A user made for a test, with the organisation it belongs to."""

    organisation_id: int
    user_id: int
    email: str
    password: str


def make_account(container: Container, org_name: str, email: str, role: Role) -> Account:
    with unit_of_work(container.session_factory) as session:
        org = session.query(Organisation).filter_by(name=org_name).one_or_none()
        if org is None:
            org = create_organisation(session, org_name, ["CAD", "USD", "EUR"])
        user: User = create_user(session, org, email, PASSWORD, role=role)
        return Account(org.id, user.id, email, PASSWORD)


@pytest.fixture
def admin(container: Container) -> Account:
    return make_account(container, "Acme Ltd", "admin@acme.example", Role.ADMIN)


@pytest.fixture
def member(container: Container, admin: Account) -> Account:
    return make_account(container, "Acme Ltd", "member@acme.example", Role.MEMBER)


@pytest.fixture
def other_org_admin(container: Container) -> Account:
    return make_account(container, "Globex Corp", "admin@globex.example", Role.ADMIN)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token field"
    return found.group(1)


def login(client: TestClient, account: Account) -> None:
    """Log in through the real form, CSRF token included."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": account.email, "password": account.password,
              "csrf_token": csrf_of(page.text), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def admin_client(client: TestClient, admin: Account) -> TestClient:
    login(client, admin)
    return client


ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
