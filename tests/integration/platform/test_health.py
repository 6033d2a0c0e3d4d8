"""Liveness and readiness probes: what a load balancer or an orchestrator sees."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from starlette.testclient import TestClient

from alix.bootstrap import build_container
from alix.db import migrate
from alix.db.engine import make_engine
from alix.web.app import create_app
from tests.support import make_settings


def _client_for(url: str, engine: Engine | None = None) -> TestClient:
    container = build_container(make_settings(url), engine=engine, with_runner=False)
    return TestClient(create_app(container, check_migrations=False))


def test_ready_on_a_migrated_reachable_database(backend: str, client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"]["ok"] is True


def test_not_ready_with_a_pending_migration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url)
    migrate.downgrade(url, "-1")
    with _client_for(url) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        migrations = response.json()["checks"]["migrations"]
        assert migrations["ok"] is False
        assert "alix db upgrade" in migrations["detail"]
        # Liveness does not depend on the schema: the process is up.
        assert client.get("/healthz").status_code == 200


def test_not_ready_with_the_database_stopped() -> None:
    # Nothing listens on port 1: exactly what a stopped PostgreSQL looks like to the app.
    url = "postgresql+psycopg://alix@127.0.0.1:1/alix?connect_timeout=2"
    engine = make_engine(url)
    try:
        with _client_for(url, engine) as client:
            response = client.get("/readyz")
            assert response.status_code == 503
            database = response.json()["checks"]["database"]
            assert database["ok"] is False
            assert "database" in database["detail"].lower()
            assert "password" not in response.text.lower()
            assert client.get("/healthz").status_code == 200
    finally:
        engine.dispose()


def test_probes_answer_anonymous_callers(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200



def test_not_ready_once_the_in_process_job_runner_stopped(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    container = build_container(make_settings(url, run_jobs_in_process=True), engine=engine)
    assert container.runner is not None
    with TestClient(create_app(container)) as client:  # the lifespan starts the runner
        running = client.get("/readyz")
        assert running.status_code == 200, running.text
        assert running.json()["checks"]["job_runner"]["ok"] is True
        container.runner.stop()
        stopped = client.get("/readyz")
        assert stopped.status_code == 503
        assert "has stopped" in stopped.json()["checks"]["job_runner"]["detail"]
