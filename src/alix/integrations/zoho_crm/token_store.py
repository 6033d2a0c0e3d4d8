"""The Zoho access-token store on SQLAlchemy Core: one row per connection, locked while refreshing.

It lives beside the connection, not in `client/`: the client only speaks HTTP and takes any
`TokenStore`; this is the database's implementation of that port.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TypeVar

import anyio
from anyio import to_thread
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from alix.clock import Clock, as_utc, utc_now

from .client.errors import ConfigurationError
from .client.tokens import AccessToken, Cipher, PlainText, TokenSlot

_T = TypeVar("_T")

# Longer than a refresh can take (the accounts client's timeout is 60 s): a process killed in
# the middle of one keeps the others waiting this long at most.
REFRESH_LEASE = timedelta(seconds=90)
_LEASE_POLL_SECONDS = 0.05

def define_token_table(metadata: MetaData) -> Table:
    """Declare the access-token table on metadata (the app's, so its migrations own it)."""
    return Table(
        "zoho_access_tokens",
        metadata,
        Column("connection_id", String(64), primary_key=True),
        Column("access_token", Text, nullable=True),  # ciphertext from the store's cipher
        Column("api_domain", String(255), nullable=True),
        Column("expires_at", DateTime(timezone=True), nullable=True),
        # Bumped on every refresh: lets operators (and tests) count minted tokens.
        Column("version", Integer, nullable=False, default=0),
        # SQLite: who is refreshing the token, until when (a lease, not the write lock: see
        # SqlTokenStore). A process killed mid-refresh holds it at most REFRESH_LEASE.
        Column("refreshing_by", String(64), nullable=True),
        Column("refreshing_until", DateTime(timezone=True), nullable=True),
    )


# A standalone declaration for scripts and the store's own tests (create_all); the app passes
# its own declaration (alix.integrations.zoho_crm.tables) to SqlTokenStore.
metadata = MetaData()
zoho_access_tokens = define_token_table(metadata)


class _SqlSlot:
    def __init__(self, current: AccessToken | None) -> None:
        self._current = current
        self.pending: AccessToken | None = None

    @property
    def current(self) -> AccessToken | None:
        return self._current

    async def replace(self, token: AccessToken) -> None:
        self.pending = token


class SqlTokenStore:
    """A TokenStore in the database, shared by every process and worker of a connection.

    PostgreSQL locks the connection's row (`SELECT ... FOR UPDATE`) for the refresh: a row lock
    stops no other writer, and a killed process releases it with its connection. SQLite has
    only a database-wide write lock, which must not be held across the call to Zoho's accounts
    server (every other writer would wait on that call, then fail with "database is locked"):
    there the row carries a lease (`refreshing_by` until `refreshing_until`) taken and released
    in short transactions, and a second refresher polls until it is free. Within one process an
    anyio lock queues coroutines first, so only one of them waits on the database at a time.
    Blocking calls run in worker threads; SQLite engines need `check_same_thread=False`
    (alix.db.engine.make_engine sets it).
    """

    def __init__(
        self, engine: Engine, *, cipher: Cipher | None = None, table: Table | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._table = zoho_access_tokens if table is None else table
        self._cipher = cipher or PlainText()
        self._locks: dict[str, anyio.Lock] = {}

    async def load(self, connection_id: str) -> AccessToken | None:
        def read() -> AccessToken | None:
            with self._engine.connect() as conn:
                return self._read(conn, connection_id, for_update=False)

        return await self._run(read)

    async def version(self, connection_id: str) -> int:
        """How many tokens were stored for this connection (0 if none)."""

        def read() -> int:
            with self._engine.connect() as conn:
                query = select(self._table.c.version).where(
                    self._table.c.connection_id == connection_id
                )
                return int(conn.execute(query).scalar() or 0)

        return await self._run(read)

    @asynccontextmanager
    async def locked(self, connection_id: str) -> AsyncIterator[TokenSlot]:
        async with self._locks.setdefault(connection_id, anyio.Lock()):
            if self._engine.dialect.name == "sqlite":
                async with self._leased(connection_id) as slot:
                    yield slot
                return
            conn, current = await self._run(lambda: self._begin_locked(connection_id))
            slot = _SqlSlot(current)
            try:
                yield slot
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await self._run(lambda: self._finish(conn, connection_id, None))
                raise
            with anyio.CancelScope(shield=True):
                await self._run(lambda: self._finish(conn, connection_id, slot.pending))

    @asynccontextmanager
    async def _leased(self, connection_id: str) -> AsyncIterator[TokenSlot]:
        owner = uuid.uuid4().hex
        while not await self._run(lambda: self._claim(connection_id, owner)):
            await anyio.sleep(_LEASE_POLL_SECONDS)
        slot: _SqlSlot | None = None
        try:
            slot = _SqlSlot(await self.load(connection_id))
            yield slot
        finally:
            pending = slot.pending if slot is not None else None
            with anyio.CancelScope(shield=True):
                await self._run(lambda: self._release(connection_id, owner, pending))

    def _claim(self, connection_id: str, owner: str) -> bool:
        """Take the refresh lease if nobody holds it or its holder's time is up."""
        now = self._clock()
        t = self._table
        with self._engine.begin() as conn:
            conn.execute(sqlite.insert(t).values(connection_id=connection_id, version=0)
                         .on_conflict_do_nothing())
            taken = conn.execute(
                update(t)
                .where(t.c.connection_id == connection_id,
                       or_(t.c.refreshing_by.is_(None), t.c.refreshing_until < now))
                .values(refreshing_by=owner, refreshing_until=now + REFRESH_LEASE)
            )
            return bool(taken.rowcount)

    def _release(self, connection_id: str, owner: str, token: AccessToken | None) -> None:
        """Store the new token (if any) and free the lease, in one short transaction."""
        t = self._table
        values: dict[str, object] = {"refreshing_by": None, "refreshing_until": None}
        if token is not None:
            values |= {"access_token": self._cipher.encrypt(token.value),
                       "api_domain": token.api_domain, "expires_at": token.expires_at,
                       "version": t.c.version + 1}
        with self._engine.begin() as conn:
            # Matched by owner: a lease that ran out and was taken over is not ours to free,
            # but a token we minted is still valid, so it is stored either way.
            done = conn.execute(update(t).where(t.c.connection_id == connection_id,
                                                t.c.refreshing_by == owner).values(**values))
            if not done.rowcount and token is not None:
                conn.execute(update(t).where(t.c.connection_id == connection_id).values(
                    {k: v for k, v in values.items() if not k.startswith("refreshing")}))

    async def clear(self, connection_id: str) -> None:
        def wipe() -> None:
            with self._engine.begin() as conn:
                conn.execute(
                    update(self._table)
                    .where(self._table.c.connection_id == connection_id)
                    .values(access_token=None, api_domain=None, expires_at=None)
                )

        await self._run(wipe)

    async def _run(self, work: Callable[[], _T]) -> _T:
        try:
            return await to_thread.run_sync(work)
        except SQLAlchemyError as exc:
            raise ConfigurationError(f"The Zoho token store's database failed: {exc}.") from exc

    def _read(
        self, conn: Connection, connection_id: str, *, for_update: bool
    ) -> AccessToken | None:
        query = select(self._table).where(
            self._table.c.connection_id == connection_id
        )
        if for_update:
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None or row["access_token"] is None or row["expires_at"] is None:
            return None
        expires_at: datetime = row["expires_at"]
        return AccessToken(
            value=self._cipher.decrypt(row["access_token"]),
            expires_at=as_utc(expires_at),
            api_domain=row["api_domain"] or "",
        )

    def _begin_locked(self, connection_id: str) -> tuple[Connection, AccessToken | None]:
        conn = self._engine.connect()
        try:
            # The row must exist before it can be locked (PostgreSQL only: see the class).
            conn.execute(
                postgresql.insert(self._table)
                .values(connection_id=connection_id, version=0)
                .on_conflict_do_nothing()
            )
            conn.commit()
            conn.begin()
            return conn, self._read(conn, connection_id, for_update=True)
        except BaseException:
            conn.close()
            raise

    def _finish(self, conn: Connection, connection_id: str, token: AccessToken | None) -> None:
        try:
            if token is None:
                conn.rollback()
                return
            conn.execute(
                update(self._table)
                .where(self._table.c.connection_id == connection_id)
                .values(
                    access_token=self._cipher.encrypt(token.value),
                    api_domain=token.api_domain,
                    expires_at=token.expires_at,
                    version=self._table.c.version + 1,
                )
            )
            conn.commit()
        finally:
            conn.close()
