"""Per-key leases in the database, so two processes never work on the same key at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, delete, insert, or_, update
from sqlalchemy.exc import IntegrityError

from alix.clock import Clock, utc_now
from alix.jobs.tables import Lease


class LeaseStore:
    """Acquire, renew and release leases; every call is its own short transaction."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    def acquire(self, key: str, owner: str, ttl_seconds: float) -> bool:
        """Take key for owner; True when owner holds it now (fresh, renewed or taken over)."""
        now = self._clock()
        expires = now + timedelta(seconds=ttl_seconds)
        with self._engine.begin() as conn:
            taken = conn.execute(
                update(Lease)
                .where(Lease.key == key)
                .where(or_(Lease.expires_at < now, Lease.owner == owner))
                .values(owner=owner, expires_at=expires)
            ).rowcount
            if taken:
                return True
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(Lease).values(key=key, owner=owner, expires_at=expires))
        except IntegrityError:
            return False
        return True

    def release(self, key: str, owner: str) -> None:
        """Give key back; a lease held by someone else is left alone."""
        with self._engine.begin() as conn:
            conn.execute(delete(Lease).where(Lease.key == key).where(Lease.owner == owner))
