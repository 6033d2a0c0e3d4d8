"""The Zoho access-token store on SQLAlchemy Core: one row per connection, locked while refreshing.

It lives beside the connection, not in `client/`: the client only speaks HTTP and takes any
`TokenStore`; this is the database's implementation of that port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
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
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from alix.clock import as_utc

from .client.errors import ConfigurationError
from .client.tokens import AccessToken, Cipher, PlainText, TokenSlot

_T = TypeVar("_T")

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
    )


# A standalone declaration for scripts and the store's own tests (create_all); the app passes
# its own declaration (alix.integrations.zoho_crm.model) to SqlTokenStore.
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

    The lock is the database's: PostgreSQL `SELECT ... FOR UPDATE` on the connection's row,
    SQLite `BEGIN IMMEDIATE` (the database-wide write lock). Within one process an anyio lock
    queues coroutines first, so only one worker thread waits on the database at a time.
    Blocking calls run in worker threads; SQLite engines need `check_same_thread=False`
    (alix.db.engine.make_engine sets it).
    """

    def __init__(
        self, engine: Engine, *, cipher: Cipher | None = None, table: Table | None = None
    ) -> None:
        self._engine = engine
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
            dialect = self._engine.dialect.name
            # The row must exist before it can be locked.
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            conn.execute(
                insert(self._table)
                .values(connection_id=connection_id, version=0)
                .on_conflict_do_nothing()
            )
            conn.commit()
            conn.begin()
            if dialect == "sqlite":
                # The app's engine emits a plain (deferred) BEGIN from a "begin" listener; drop
                # that empty transaction and take the write lock up front, so a second process
                # waits here (busy_timeout) instead of failing on its first write.
                if conn.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
                    conn.exec_driver_sql("ROLLBACK")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
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
