"""The `alix` command line: migrate, create a user and an API token that works; a Zoho CRM sync
with its progress and final counts, its preview and JSON; one-line errors with exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from alix.bootstrap import build_container
from alix.cli import main
from alix.customers.tables import customers
from alix.db.migrate import head_revision
from alix.integrations.zoho_crm.sync.store.tables import (
    zoho_links,
    zoho_sync_issues,
    zoho_sync_runs,
)
from alix.jobs.tables import Job
from alix.web.app import create_app
from tests.integration.sync_pull.test_emulator import activate_customers
from tests.integration.zoho_settings.conftest import (
    CALLBACK,
    CLIENT_ID,
    CLIENT_SECRET,
    PUBLIC,
    Alix,
    alix,
    connect,
    zoho_container,
)
from tests.support import TEST_SECRET
from zoho_emulator.testing import EmulatorServer

ROOT = Path(__file__).resolve().parents[3]
ACCOUNTS = 36

__all__ = ["alix", "zoho_container"]  # the settings tests' fixtures, used here too


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

    assert main(["users", "create", "--org", "Acme", "--email", "bot@acme.example",
                 "--password", "long enough pw", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["email"] == "bot@acme.example" and created["role"] == "member"
    assert created["organisation"] == "Acme" and created["organisation_created"] is False
    assert main(["tokens", "create", "--email", "bot@acme.example", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["token"].startswith("alix_")


def _alix(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`alix` as people run it: its own process, so a traceback would show in its output."""
    return subprocess.run([sys.executable, "-m", "alix.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def shell_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A migrated database with ops@acme.example in Acme, for `alix` here and in a process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIX_")}
    env.update(ALIX_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", ALIX_SECRET_KEY=TEST_SECRET,
               ALIX_ENVIRONMENT="test")
    for name, value in env.items():
        if name.startswith("ALIX_"):
            monkeypatch.setenv(name, value)
    assert main(["db", "upgrade"]) == 0
    assert main(["users", "create", "--org", "Acme", "--email", "ops@acme.example",
                 "--password", "long enough pw"]) == 0
    return env


@pytest.mark.parametrize(("email", "password", "said"), [
    ("jane@acme.example", "short", "Use at least 8 characters."),
    ("jane.acme.example", "long enough pw", "'jane.acme.example' is not an email address."),
    ("ops@acme.example", "long enough pw", "A user with email ops@acme.example already exists."),
])
def test_users_create_refuses_bad_input_in_one_line(
    shell_env: dict[str, str], email: str, password: str, said: str
) -> None:
    refused = _alix(shell_env, "users", "create", "--org", "Acme", "--email", email,
                    "--password", password)

    assert refused.returncode == 2
    assert refused.stderr == f"alix: {said}\n"
    assert "Traceback" not in refused.stdout + refused.stderr


def test_unknown_organisation_and_unreachable_database_are_one_line_errors(
    shell_env: dict[str, str]
) -> None:
    unknown = _alix(shell_env, "sync", "--org", "Nobody Ltd")
    assert (unknown.returncode, unknown.stderr) == (2, "alix: No organisation named "
                                                       "'Nobody Ltd'.\n")
    shell_env["ALIX_DATABASE_URL"] = "postgresql+psycopg://alix@127.0.0.1:9/alix"  # no server
    down = _alix(shell_env, "users", "create", "--org", "Acme", "--email", "ops@acme.example",
                 "--password", "long enough pw")
    assert down.returncode == 1
    assert down.stderr.startswith("alix: Cannot use the database: ")
    assert len(down.stderr.splitlines()) == 1 and "Traceback" not in down.stderr
    assert main(["sync", "--org", "Acme", "--dry-run"]) == 2  # the preview is of --initial


# --- `alix sync` against the Zoho emulator -----------------------------------------------------

@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(accounts=ACCOUNTS, contacts_per_account=2,
                        register_clients=[(CLIENT_ID, CLIENT_SECRET, CALLBACK)]) as server:
        yield server


@pytest.fixture
def connected(alix: Alix, emu: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Alix:
    """Acme Ltd (CAD, USD, EUR) connected to the emulator with Customers on, and the CLI's
    environment pointing at the same database and emulator."""
    connect(alix.http, emu)
    activate_customers(alix)
    for name, value in {
        "ALIX_DATABASE_URL": alix.container.settings.database_url,
        "ALIX_SECRET_KEY": TEST_SECRET, "ALIX_ZOHO_CLIENT_ID": CLIENT_ID,
        "ALIX_ZOHO_CLIENT_SECRET": CLIENT_SECRET, "ALIX_ZOHO_ACCOUNTS_URL": emu.base_url,
        "ALIX_PUBLIC_URL": PUBLIC,
    }.items():
        monkeypatch.setenv(name, value)
    return alix


def _counted(alix: Alix) -> dict[str, int]:
    org = alix.admin.organisation_id
    with Session(alix.container.engine) as session:
        def count(table: object, *where: object) -> int:
            return int(session.execute(select(func.count()).select_from(table)  # type: ignore[arg-type]
                                       .where(*where)).scalar_one())  # type: ignore[arg-type]
        return {"customers": count(customers, customers.c.organisation_id == org),
                "links": count(zoho_links), "runs": count(zoho_sync_runs),
                "jobs": count(Job.__table__),
                "open issues": count(zoho_sync_issues, zoho_sync_issues.c.status == "open")}


def test_sync_shows_progress_per_module_then_the_final_counts(
    connected: Alix, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "--org", "Acme Ltd", "--initial"]) == 0

    out, err = capsys.readouterr()
    lines = err.splitlines()
    # Not a terminal: plain lines, the first one before Zoho has answered anything.
    assert "\x1b" not in out + err
    assert lines[0] == "Zoho CRM sync: Connecting to Zoho CRM and reading…"
    pages = [line for line in lines if "records/s" in line]
    assert [p.split(":")[1].strip() for p in pages] == ["Accounts", "Contacts"]
    assert pages[0].startswith(f"Zoho CRM sync: Accounts: {ACCOUNTS}/{ACCOUNTS}, ")
    for done, total in (map(int, m) for m in re.findall(r"(\d+)/(\d+),", err)):
        assert done <= total, err
    now = _counted(connected)
    rejected = now["open issues"]
    assert now["customers"] > 0 and rejected > 0  # the emulator's GBP Accounts
    with Session(connected.container.engine) as session:
        counts = session.execute(select(zoho_sync_runs.c.counts)).scalar_one()
    summary = out.strip()
    # The toast's counts, in the toast's order: what changed first, what went wrong last.
    said = ", ".join(f"{counts[k]} {k}" for k in ("created", "linked", "updated", "unchanged",
                                                  "skipped", "rejected") if counts.get(k))
    assert summary.startswith(f"Zoho CRM sync of Acme Ltd done: {said} · ")
    assert counts["created"] >= now["customers"] and counts["rejected"] > 0
    assert summary.endswith(f" · {rejected} records need attention "
                            f"(details: {PUBLIC}/settings/integrations/zoho-crm/sync).")


def test_dry_run_writes_nothing_and_json_sums_up_the_sync(
    connected: Alix, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _counted(connected)

    assert main(["sync", "--org", "Acme Ltd", "--initial", "--dry-run"]) == 0
    preview = capsys.readouterr().out
    assert _counted(connected) == before, "a preview writes nothing"
    assert main(["sync", "--org", "Acme Ltd", "--initial", "--dry-run", "--json"]) == 0
    planned = {m["label"]: m["counts"] for m in json.loads(capsys.readouterr().out)["modules"]}
    accounts = planned["Accounts"]
    assert accounts["create"] + accounts.get("reject", 0) == ACCOUNTS, preview
    assert preview.startswith("Preview of the first Zoho CRM sync of Acme Ltd (nothing was "
                              "written):\n")
    assert f"Accounts: {accounts['create']} would create a customer" in preview
    # Acme Ltd lacks GBP: the preview rejects those Accounts as the sync will, with the fix.
    assert re.search(r"Zoho Accounts record \d+ cannot be imported: GBP is not one of your "
                     r"organisation's currencies", preview), preview
    assert ("  Fix: Add GBP to your organisation: the records waiting on it are retried at "
            "once. (http://testserver/settings/organisation)") in preview
    assert "Contacts: " in preview and "No ambiguous name." in preview

    assert main(["sync", "--org", "Acme Ltd", "--initial", "--json"]) == 0
    out, _ = capsys.readouterr()
    result = json.loads(out)
    now = _counted(connected)
    assert result["status"] == "succeeded" and result["exit_code"] == 0
    assert result["counts"]["created"] >= accounts["create"]
    assert now["customers"] == accounts["create"]
    assert result["counts"]["rejected"] == sum(c.get("reject", 0) for c in planned.values())
    assert result["attention"] == now["open issues"] > 0
    assert result["read"]["Accounts"] == ACCOUNTS
