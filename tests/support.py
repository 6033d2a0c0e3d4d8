"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from starlette.testclient import TestClient

from alix.bootstrap import Container
from alix.db.session import unit_of_work
from alix.identity.service import create_organisation, create_user
from alix.identity.tables import Organisation, Role, User
from alix.settings import Settings

POSTGRES_URL = os.environ.get(
    "ALIX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_SECRET = "test-secret-key-" + "x" * 40
PASSWORD = "correct horse battery"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def postgres_url(schema: str) -> str:
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


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


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements `engine` sends while the block runs, in order."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def query_plan(engine: Engine, run: Callable[[], Any], marker: str) -> tuple[Any, list[str]]:
    """What run() returns, and SQLite's plan (EXPLAIN QUERY PLAN, its detail column) of the
    first statement it sent that contains `marker`, with the parameters it was sent with."""
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        result = run()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    statement, parameters = next((s, p) for s, p in seen if marker in s)
    with engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                                          parameters)]
    return result, plan
