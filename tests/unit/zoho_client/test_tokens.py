"""Token refresh: shared stores, one refresh for many workers, and the SQL store's lock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import anyio
import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from alix.clock import utc_now
from alix.db.engine import make_engine
from alix.integrations.zoho_crm.client import AuthenticationFailed, InMemoryTokenStore
from alix.integrations.zoho_crm.client.tokens import AccessToken
from alix.integrations.zoho_crm.token_store import SqlTokenStore, metadata
from tests.support import POSTGRES_URL, postgres_url

from .conftest import Harness, _error

pytestmark = pytest.mark.anyio


async def hammer(harness: Harness, clients: int, calls: int) -> None:
    harness.zoho.seed(3)
    opened = [harness.client() for _ in range(clients)]

    async def work(n: int) -> None:
        for _ in range(calls):
            await opened[n].get_records("Accounts", ["5725767000004100001"], ["Account_Name"])

    async with anyio.create_task_group() as group:
        for n in range(clients):
            group.start_soon(work, n)
    for client in opened:
        await client.aclose()


async def test_two_clients_sharing_a_store_refresh_once_not_twice(harness: Harness) -> None:
    await hammer(harness, clients=2, calls=3)
    assert harness.zoho.minted == 1
    harness.zoho.valid_tokens.clear()  # Zoho evicts the token under both clients
    await hammer(harness, clients=2, calls=3)
    assert harness.zoho.minted == 2


async def test_a_second_invalid_token_after_refreshing_is_fatal(harness: Harness) -> None:
    def always_invalid(request: httpx.Request) -> httpx.Response | None:
        return _error(401, "INVALID_TOKEN") if request.url.path.startswith("/crm/") else None

    harness.zoho.handler_override = always_invalid
    async with harness.client() as client:
        with pytest.raises(AuthenticationFailed, match="INVALID_TOKEN"):
            await client.count("Accounts")
    assert harness.zoho.minted == 2  # the first token, then exactly one refresh


async def test_a_revoked_refresh_token_is_fatal(harness: Harness) -> None:
    async with harness.client(refresh_token="revoked-refresh-token") as client:
        with pytest.raises(AuthenticationFailed, match="invalid_code"):
            await client.count("Accounts")


def engines(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> tuple[Engine, Engine]:
    """Two engines on one database: two processes sharing the token table."""
    if kind == "postgres":
        # A schema of its own: the run's shared schema holds the migrated app tables, which
        # this test's drop_all/create_all must not touch.
        schema = f"{request.getfixturevalue('pg_schema')}_tokens"
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))

        def drop() -> None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

        request.addfinalizer(drop)
        url = postgres_url(schema)
        return make_engine(url), make_engine(url)
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    if kind == "app":
        return make_engine(url), make_engine(url)
    args = {"check_same_thread": False, "timeout": 10}
    return create_engine(url, connect_args=args), create_engine(url, connect_args=args)


@pytest.mark.parametrize(
    "kind", ["app", "plain", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_two_processes_on_one_database_store_refresh_once(
    harness: Harness, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    first, second = engines(request, tmp_path, kind)
    metadata.drop_all(first)
    metadata.create_all(first)
    stores = [SqlTokenStore(first), SqlTokenStore(second)]
    harness.zoho.seed(1)
    clients = []
    for store in stores:
        harness.store = store
        clients.append(harness.client())

    async def read(n: int) -> None:
        for _ in range(3):
            await clients[n].get_records("Accounts", ["5725767000004100001"], ["Account_Name"])

    for round_ in range(2):
        async with anyio.create_task_group() as group:
            for n in range(2):
                group.start_soon(read, n)
        assert harness.zoho.minted == round_ + 1
        harness.zoho.valid_tokens.clear()
    for client in clients:
        await client.aclose()
    assert await stores[1].version("conn-1") == 2
    first.dispose()
    second.dispose()


async def test_the_sql_store_encrypts_through_its_cipher(tmp_path: Path, harness: Harness) -> None:
    class Reverse:
        def encrypt(self, plaintext: str) -> str:
            return plaintext[::-1]

        def decrypt(self, ciphertext: str) -> str:
            return ciphertext[::-1]

    engine = make_engine(f"sqlite:///{tmp_path / 't.db'}")
    metadata.create_all(engine)
    harness.store = SqlTokenStore(engine, cipher=Reverse())
    harness.zoho.seed(1)
    async with harness.client() as client:
        await client.get_records("Accounts", ["5725767000004100001"], ["Account_Name"])
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("select access_token from zoho_access_tokens").scalar()
    assert stored == "1-ssecca"
    token = await harness.store.load("conn-1")
    assert token is not None and token.value == "access-1"
    engine.dispose()


async def test_revoking_forgets_the_access_token(harness: Harness) -> None:
    harness.zoho.seed(1)
    store = InMemoryTokenStore()
    harness.store = store
    async with harness.client() as client:
        await client.get_records("Accounts", ["5725767000004100001"], ["Account_Name"])
        assert await store.load("conn-1") is not None
        await client.revoke()
    assert await store.load("conn-1") is None
    assert any(r.url.path == "/oauth/v2/token/revoke" for r in harness.zoho.requests)


async def test_a_slow_refresh_leaves_a_sqlite_database_writable(tmp_path: Path) -> None:
    """SQLite has one write lock for the whole database: a refresh must not hold it across its
    call to Zoho's accounts server, or every other writer (a page's request, a sync job) waits on
    that call and fails with "database is locked" when it is slow. Refreshes of one connection
    still take turns across processes: the second one sees the first one's token."""
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    refresher, other = make_engine(url, busy_timeout_ms=300), make_engine(url, busy_timeout_ms=300)
    metadata.create_all(refresher)
    with other.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (x INTEGER)")
    store, rival = SqlTokenStore(refresher), SqlTokenStore(other)
    fresh = AccessToken("access-9", utc_now() + timedelta(hours=1), "https://www.zohoapis.com")
    rival_saw: list[AccessToken | None] = []

    def write_elsewhere() -> None:
        with other.begin() as conn:
            conn.exec_driver_sql("INSERT INTO notes VALUES (1)")

    async def slow_refresh() -> None:
        async with store.locked("conn-1") as slot:
            await anyio.to_thread.run_sync(write_elsewhere)
            await anyio.sleep(0.5)  # the call to Zoho's accounts server
            await slot.replace(fresh)

    async def rival_refresh() -> None:  # another process, a moment later
        await anyio.sleep(0.1)
        async with rival.locked("conn-1") as slot:
            rival_saw.append(slot.current)

    async with anyio.create_task_group() as group:
        group.start_soon(slow_refresh)
        group.start_soon(rival_refresh)
    assert rival_saw == [fresh]
    loaded = await store.load("conn-1")
    assert loaded == fresh
    with other.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM notes").scalar() == 1
    refresher.dispose()
    other.dispose()


class CountingStore(InMemoryTokenStore):
    """An in-memory store that counts its reads."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    async def load(self, connection_id: str) -> AccessToken | None:
        self.loads += 1
        return await super().load(connection_id)


async def test_a_client_reads_the_shared_store_once_while_its_token_lives(
        harness: Harness) -> None:
    """The SQL store costs a database round trip per read: once per token, not per call."""
    harness.zoho.seed(1)
    store = CountingStore()
    harness.store = store
    async with harness.client() as client:
        for _ in range(5):
            await client.get_records("Accounts", ["5725767000004100001"], ["Account_Name"])
    assert harness.zoho.minted == 1
    assert store.loads == 1


async def test_a_token_zoho_rejected_is_refreshed_though_it_was_in_hand(
        harness: Harness) -> None:
    harness.zoho.seed(1)
    async with harness.client() as client:
        await client.get_records("Accounts", ["5725767000004100001"], ["Account_Name"])
        harness.zoho.valid_tokens.clear()  # revoked at Zoho, still in the client's hand
        found = await client.get_records("Accounts", ["5725767000004100001"], ["Account_Name"])
    assert [r.id for r in found] == ["5725767000004100001"]
    assert harness.zoho.minted == 2
