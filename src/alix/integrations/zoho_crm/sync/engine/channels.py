"""Zoho notification channels of a connection: the task keeping one channel alive (its rows
live in store.tables.zoho_channels).

One channel per connection watches `Accounts.all`, `Contacts.all` and the active custom address
modules while Customers is active (zoho-crm-api.md 6). Its token is a random secret of 40
characters (Zoho caps it at 50) stored only as a SHA-256 digest: the callback endpoint hashes
what Zoho echoes and compares digests in constant time. Zoho stops a channel silently at its
expiry (at most one week, one hour by default, and a request over the maximum silently gets the
default), so the task asks for six days and runs again before the granted expiry to renew it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, insert, select, update
from sqlalchemy import inspect as inspect_state
from sqlalchemy.orm import Session, UOWTransaction, sessionmaker

from alix.clock import Clock
from alix.db import driver
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.client import ZohoCrm
from alix.integrations.zoho_crm.client.errors import RequestRejected, ZohoError
from alix.integrations.zoho_crm.config import SyncConfiguration
from alix.integrations.zoho_crm.mappers import MODULES, ModuleKind
from alix.integrations.zoho_crm.repository import load_configuration
from alix.integrations.zoho_crm.services import ZohoServices
from alix.integrations.zoho_crm.tables import CONNECTED, ZohoConnection, ZohoModule
from alix.jobs.queue import JobQueue, TaskContext, waiting_job

from ..store.scope import SyncScope
from ..store.tables import zoho_channels
from .context import log_scope

log = logging.getLogger(__name__)

TASK = "zoho_crm.channels"
NOTIFY_PATH = "/integrations/zoho-crm/notifications/"
# Asked lifetime: under Zoho's one-week maximum with a day to spare for clock skew.
LIFETIME = timedelta(days=6)
# Renew this long before the granted expiry (a quarter of the lifetime for short channels).
MARGIN = timedelta(days=1)
TOKEN_CHARS = 40


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Compared against when the channel id is unknown, so both answers take the same time.
_NO_DIGEST = digest(secrets.token_urlsafe(30))


@dataclass(frozen=True)
class StoredChannel:
    channel_id: str
    organisation_id: int
    connection_id: int
    events: tuple[str, ...]
    expires_at: datetime | None


def _stored(row: Any) -> StoredChannel:
    return StoredChannel(row.channel_id, row.organisation_id, row.connection_id,
                         tuple(row.events), row.expires_at)


_CHANNEL = ("SELECT channel_id, organisation_id, connection_id, events, expires_at, "
            "token_digest FROM zoho_channels WHERE channel_id = ?")


def verify(session: Session, channel_id: str, token: object) -> StoredChannel | None:
    """The channel when `token` is its secret, else None (unknown id and wrong token alike).

    The digests are compared in constant time, also when the channel id is unknown. Every
    callback asks, in the web process while a push writes: the driver's text, not a Core
    statement (alix.db.driver).
    """
    found = driver.rows(session, _CHANNEL, (channel_id[:40],))
    row = found[0] if found else None
    given = digest(token) if isinstance(token, str) else ""
    expected = row[5] if row is not None else _NO_DIGEST
    if not hmac.compare_digest(given.encode(), expected.encode()) or row is None:
        return None
    return StoredChannel(row[0], row[1], row[2], tuple(driver.json_value(row[3])),
                         driver.stored_timestamp(row[4]))


def channels_of(session: Session, connection_id: int) -> list[StoredChannel]:
    rows = session.execute(
        select(zoho_channels).where(zoho_channels.c.connection_id == connection_id)
        .order_by(zoho_channels.c.created_at)
    )
    return [_stored(r) for r in rows]


def wanted_events(config: SyncConfiguration) -> tuple[str, ...]:
    """What to watch: nothing unless Customers is active; then Accounts (the customer and its
    main addresses), Contacts and every active custom address module (pure)."""
    if not config.module(ModuleKind.CUSTOMERS).active:
        return ()
    modules = ["Accounts", "Contacts"]
    for kind, spec in MODULES.items():
        module = config.module(kind)
        if spec.custom and module.active and module.crm_module:
            modules.append(module.crm_module)
    return tuple(f"{m}.all" for m in dict.fromkeys(modules))


def renew_at(expires_at: datetime, now: datetime) -> datetime:
    """When to run again for a channel just granted until `expires_at`: a day before, or at
    three quarters of a shorter life (Zoho's one-hour default). A run renews the channel once
    at most MARGIN is left."""
    margin = min(MARGIN, max(expires_at - now, timedelta(0)) / 4)
    return expires_at - margin


def request_channels(
    session: Session, queue: JobQueue, connection: ZohoConnection, delay_seconds: float = 0
) -> None:
    """Queue the channels task of a connection in the caller's transaction; a run already
    queued is brought forward instead (the periodic re-check may be hours away)."""
    key = channel_lease(connection.id)
    queued = waiting_job(session, TASK, key)
    if queued is None:
        # No organisation: the toast lists an organisation's jobs, and a renewal waits for days.
        queue.enqueue(session, TASK, {"connection_id": connection.id}, lease_key=key,
                      delay_seconds=delay_seconds)
        return
    due = queue.clock() + timedelta(seconds=delay_seconds)
    if queued.run_after > due:  # the periodic re-check, waiting for hours: bring it forward
        queued.run_after = due
        event.listen(session, "after_commit", lambda _s: queue.wake(), once=True)


def channel_lease(connection_id: int) -> str:
    """Channel jobs of a connection never overlap (two would create two channels)."""
    return f"zoho_crm:channels:{connection_id}"


def new_channel_id() -> str:
    """Zoho wants "a long number" of our own: 18 random digits."""
    return str(10**17 + secrets.randbelow(9 * 10**17))


def new_token() -> str:
    return secrets.token_urlsafe(30)[:TOKEN_CHARS]


@dataclass(frozen=True)
class ChannelKeeper:
    """Makes Zoho's channels of one connection match what the configuration wants."""

    crm: ZohoCrm
    clock: Clock
    public_url: str
    new_id: Callable[[], str] = new_channel_id
    new_secret: Callable[[], str] = new_token

    async def reconcile(
        self, sessions: sessionmaker[Session], connection_id: int, organisation_id: int,
        events: Sequence[str],
    ) -> datetime | None:
        """Create, renew, replace or delete channels; returns the earliest renewal time."""
        with unit_of_work(sessions) as session:
            stored = channels_of(session, connection_id)
        now = self.clock()
        keep = next((c for c in stored if events and c.events == tuple(events)
                     and c.expires_at is not None and c.expires_at > now), None)
        stale = [c for c in stored if c is not keep]
        if events and keep is not None and (keep.expires_at or now) - now <= MARGIN:
            keep = await self._renew(sessions, keep)
        if events and keep is None:
            keep = await self._create(sessions, connection_id, organisation_id, events)
        await self.drop(sessions, stale)
        if keep is None or keep.expires_at is None:
            return None
        return renew_at(keep.expires_at, self.clock())

    async def _renew(self, sessions: sessionmaker[Session], channel: StoredChannel
                     ) -> StoredChannel | None:
        try:
            renewed = await self.crm.renew_channel(channel.channel_id, self.clock() + LIFETIME)
        except RequestRejected as exc:  # expired or deleted on Zoho's side: start a new one
            log.info("Zoho notification channel %s could not be renewed (%s); creating another.",
                     channel.channel_id, exc)
            await self.drop(sessions, [channel])
            return None
        expires = renewed.expires_at or self.clock() + timedelta(hours=1)
        with unit_of_work(sessions) as session:
            session.execute(update(zoho_channels)
                            .where(zoho_channels.c.channel_id == channel.channel_id)
                            .values(expires_at=expires, renewed_at=self.clock()))
        return StoredChannel(channel.channel_id, channel.organisation_id, channel.connection_id,
                             channel.events, expires)

    async def _create(self, sessions: sessionmaker[Session], connection_id: int,
                      organisation_id: int, events: Sequence[str]) -> StoredChannel:
        channel_id, token, now = self.new_id(), self.new_secret(), self.clock()
        # Stored before Zoho hears of it: a callback may arrive before create_channel returns.
        with unit_of_work(sessions) as session:
            session.execute(insert(zoho_channels).values(
                channel_id=channel_id, organisation_id=organisation_id,
                connection_id=connection_id, token_digest=digest(token), events=list(events),
                expires_at=None, created_at=now, renewed_at=None,
            ))
        url = f"{self.public_url.rstrip('/')}{NOTIFY_PATH}{channel_id}"
        try:
            created = await self.crm.create_channel(channel_id, events, url, token=token,
                                                    expires_at=now + LIFETIME)
        except BaseException:
            with unit_of_work(sessions) as session:
                session.execute(delete(zoho_channels)
                                .where(zoho_channels.c.channel_id == channel_id))
            raise
        # Zoho silently grants one hour for a request it finds too long (Kaizen #170).
        expires = created.expires_at or now + timedelta(hours=1)
        with unit_of_work(sessions) as session:
            session.execute(update(zoho_channels)
                            .where(zoho_channels.c.channel_id == channel_id)
                            .values(expires_at=expires))
        return StoredChannel(channel_id, organisation_id, connection_id, tuple(events), expires)

    async def drop(self, sessions: sessionmaker[Session], channels: Sequence[StoredChannel]
                   ) -> None:
        """Delete channels on Zoho (best effort: they expire anyway) and forget them."""
        if not channels:
            return
        ids = [c.channel_id for c in channels]
        try:
            await self.crm.delete_channels(ids)
        except ZohoError as exc:
            log.warning("Zoho notification channels %s could not be deleted: %s", ids, exc)
        forget(sessions, ids)


def forget(sessions: sessionmaker[Session], channel_ids: Sequence[str]) -> None:
    with unit_of_work(sessions) as session:
        session.execute(delete(zoho_channels)
                        .where(zoho_channels.c.channel_id.in_(list(channel_ids))))


async def keep_channels(ctx: TaskContext, zoho: ZohoServices) -> None:
    """Task `zoho_crm.channels` {connection_id}: one live channel while Customers is active,
    none otherwise; while a channel lives, queues its own next run at the renewal time."""
    connection_id = int(ctx.payload["connection_id"])
    public_url = zoho.public_url
    if not public_url:
        raise RuntimeError("The composition root gave the channels task no public_url.")
    with unit_of_work(ctx.session_factory) as session:
        connection = session.get(ZohoConnection, connection_id)
        if connection is None:
            return  # removed: its channel rows went with it (cascade)
        usable = connection.status == CONNECTED and connection.refresh_token is not None
        events = wanted_events(load_configuration(session, connection_id)) if usable else ()
        stored = channels_of(session, connection_id)
        session.expunge(connection)
    log_scope(SyncScope(connection.organisation_id, connection_id))
    if not usable:
        # No token to call Zoho with: the channels expire on their own; callbacks for them
        # are refused from now on.
        forget(ctx.session_factory, [c.channel_id for c in stored])
        return
    if not events and not stored:
        return  # nothing to watch or delete; the trigger queues this task when that changes
    async with zoho.crm_factory(connection) as crm:
        keeper = ChannelKeeper(crm, ctx.clock, public_url)
        next_run = await keeper.reconcile(ctx.session_factory, connection_id,
                                          connection.organisation_id, events)
    if next_run is None:
        return
    delay = (next_run - ctx.clock()).total_seconds()
    with unit_of_work(ctx.session_factory) as session:
        request_channels(session, ctx.queue, connection, delay_seconds=max(delay, 1.0))


_MARK = "zoho_crm_channel_connections"


def _changed(obj: object, *names: str) -> bool:
    attrs = inspect_state(obj).attrs
    return any(attrs[name].history.has_changes() for name in names)


def _noticed(session: Session, _flush: UOWTransaction) -> None:
    """After a flush (the pre-flush state still visible): connections whose watched modules
    may have changed: a module switched or moved to another CRM module, a connection that
    connected or disconnected."""
    marked: set[int] = session.info.setdefault(_MARK, set())
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, ZohoModule) and (
            obj.active if obj in session.new else _changed(obj, "active", "crm_module")
        ):
            marked.add(obj.connection_id)
        elif isinstance(obj, ZohoConnection) and obj not in session.new and _changed(
            obj, "status"
        ):
            marked.add(obj.id)


def _has_work(session: Session, connection: ZohoConnection) -> bool:
    """A channel to create, change or delete: no job (and no background write) otherwise."""
    if channels_of(session, connection.id):
        return True
    usable = connection.status == CONNECTED and connection.refresh_token is not None
    return usable and bool(wanted_events(load_configuration(session, connection.id)))


def install_channel_trigger(sessions: sessionmaker[Session], queue: JobQueue) -> None:
    """Queue the channels task in the transaction that activates or deactivates a module, or
    connects or disconnects (installed on the session factory by the composition root), so a
    channel exists exactly while Customers is active; the task also re-checks periodically."""

    def before_commit(session: Session) -> None:
        session.flush()  # the commit's own flush comes after this hook
        for connection_id in sorted(session.info.pop(_MARK, set())):
            connection = session.get(ZohoConnection, connection_id)
            if connection is not None and _has_work(session, connection):
                request_channels(session, queue, connection)

    event.listen(sessions, "after_flush", _noticed)
    event.listen(sessions, "before_commit", before_commit)
    event.listen(sessions, "after_soft_rollback",
                 lambda session, _t: session.info.pop(_MARK, None))
