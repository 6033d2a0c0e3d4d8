"""Readiness with procrastinate workers: ready only while a worker beats its heartbeat."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from alix.bootstrap import build_container
from alix.jobs.workers import ensure_schema
from alix.web.app import create_app
from tests.support import make_settings


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Only PostgreSQL here: procrastinate workers need it (overrides the shared fixture)."""
    return str(request.param)


def test_with_procrastinate_workers_ready_only_while_one_beats(
    backend: str, engine: Engine
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    ensure_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM procrastinate_workers"))
    container = build_container(make_settings(url, jobs_engine="procrastinate"), engine=engine,
                                with_runner=False)
    with TestClient(create_app(container)) as client:
        idle = client.get("/readyz")
        assert idle.status_code == 503
        assert "alix worker" in idle.json()["checks"]["job_workers"]["detail"]
        with engine.begin() as conn:  # what a running worker's heartbeat writes
            conn.execute(text("INSERT INTO procrastinate_workers DEFAULT VALUES"))
        beating = client.get("/readyz")
        assert beating.status_code == 200, beating.text
        assert beating.json()["checks"]["job_workers"]["ok"] is True
