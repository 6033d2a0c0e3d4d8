"""Two OS processes sharing one token store in a database refresh the token once, not twice.

Zoho keeps 15 live access tokens per refresh token and mints at most 10 per 10 minutes
(zoho-crm-api.md 2.3), so workers must not each refresh on their own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from alix.db.engine import make_engine
from alix.integrations.zoho_crm.token_store import metadata
from tests.support import POSTGRES_URL, postgres_url

WORKER = """
import json, sys, anyio
from alix.db.engine import make_engine
from alix.integrations.zoho_crm.client import ZohoCrmClient
from alix.integrations.zoho_crm.token_store import SqlTokenStore

url, base, creds = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

async def main() -> None:
    client = ZohoCrmClient.connect(
        client_id=creds["client_id"], client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"], connection_id="shared",
        store=SqlTokenStore(make_engine(url)), override_url=base)
    print("ready", flush=True)
    sys.stdin.readline()  # both processes start calling at the same moment
    counts = [await client.count("Accounts") for _ in range(3)]
    await client.aclose()
    print(json.dumps({"refreshes": client.accounts.refreshes, "counts": counts}))

anyio.run(main)
"""


def _run_workers(url: str, emu: Any, creds: dict[str, Any]) -> list[dict[str, Any]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, emu.base_url, json.dumps(creds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _token_grants(emu: Any) -> int:
    return int(emu.control("stats", {})["calls"].get("POST oauth/v2/token", 0))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tokens.db'}"
        engine = make_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        yield url
        return
    schema = f"{request.getfixturevalue('pg_schema')}_procs"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = postgres_url(schema)
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_two_processes_on_one_store_mint_one_token(emulator: Any, store_url: str) -> None:
    emulator.control("reset", {})
    emulator.control("seed", {"accounts": 7, "seed": 11})
    creds = emulator.self_client()
    before = _token_grants(emulator)

    results = _run_workers(store_url, emulator, creds)
    assert [r["counts"] for r in results] == [[7, 7, 7], [7, 7, 7]]
    assert sum(r["refreshes"] for r in results) == 1
    assert _token_grants(emulator) - before == 1

    # After Zoho expires the token, the two processes again agree on one refresh.
    emulator.control("faults", {"expire_tokens": True})
    results = _run_workers(store_url, emulator, creds)
    assert sum(r["refreshes"] for r in results) == 1
    assert _token_grants(emulator) - before == 2
