"""The `alix` command line: migrate, create a user and an API token that works."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from alix.bootstrap import build_container
from alix.cli import main
from alix.db.migrate import head_revision
from alix.web.app import create_app
from tests.support import TEST_SECRET


def test_db_upgrade_users_and_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ALIX_DATABASE_URL", url)
    monkeypatch.setenv("ALIX_SECRET_KEY", TEST_SECRET)
    assert main(["db", "upgrade"]) == 0
    assert main(["users", "create", "--org", "Acme", "--currencies", "CAD,USD",
                 "--email", "Ops@Acme.example", "--password", "long enough pw",
                 "--role", "admin"]) == 0
    assert "Created admin ops@acme.example in Acme." in capsys.readouterr().out
    assert main(["tokens", "create", "--email", "ops@acme.example", "--name", "bridge"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("alix_")

    from alix.settings import Settings

    container = build_container(Settings(), with_runner=False)
    with TestClient(create_app(container)) as client:
        ok = client.get("/api/v1/jobs/active", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json() == []
    container.close()
    assert main(["db", "current"]) == 0
    head = head_revision()
    assert f"current: {head}; head: {head}" in capsys.readouterr().out
