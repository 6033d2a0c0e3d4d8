"""Login throttling: after a few failures, each further attempt waits exponentially longer.

Counted per account (the email tried) and per client address, in the database so that every
web process sees the same counts. A throttled attempt is refused before any password hashing:
guessing costs the attacker time and the server nothing. A success clears the account's count
(not the address's: one known password must not reset an address guessing others).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alix.identity.tables import LoginFailures

BASE_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(minutes=15)
# Failures older than this are forgotten: a typo last week costs nothing today.
FORGET_AFTER = timedelta(hours=1)
# Free attempts before the delay starts: five per account; more per address, where an office
# behind one NAT address shares the count.
ACCOUNT_FREE = 5
ADDRESS_FREE = 20


@dataclass(frozen=True)
class Failures:
    """Failed attempts of one key and when the last one happened."""

    count: int
    last_at: datetime | None


def record_failure(state: Failures, now: datetime) -> Failures:
    """The state after one more failure at now (pure)."""
    if state.last_at is None or now - state.last_at > FORGET_AFTER:
        return Failures(1, now)
    return Failures(state.count + 1, now)


def wait(state: Failures, now: datetime, free: int = ACCOUNT_FREE) -> timedelta:
    """How long the next attempt must wait: nothing for the first `free` failures, then 1 s,
    2 s, 4 s... up to MAX_DELAY after the last failure (pure)."""
    if state.last_at is None or state.count < free:
        return timedelta(0)
    doublings = min(state.count - free, 20)  # 2^20 s is far past MAX_DELAY already
    delay = min(BASE_DELAY * 2**doublings, MAX_DELAY)
    return max(state.last_at + delay - now, timedelta(0))


def client_address(peer: str, forwarded_for: str | None, trusted: tuple[str, ...]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy, then the last
    X-Forwarded-For hop that is not itself a trusted proxy (the ones before it are the
    client's to forge) (pure)."""
    if peer not in trusted or not forwarded_for:
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if hop not in trusted:
            return hop
    return peer


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()[:250]}"


def address_key(address: str) -> str:
    return f"address:{address[:250]}"


def _load(session: Session, key: str) -> Failures:
    row = session.get(LoginFailures, key)
    return Failures(0, None) if row is None else Failures(row.failures, row.last_failed_at)


def retry_after(session: Session, email: str, address: str, now: datetime) -> timedelta:
    """How long a login attempt for email from address must still wait (zero: go ahead)."""
    return max(wait(_load(session, account_key(email)), now, ACCOUNT_FREE),
               wait(_load(session, address_key(address)), now, ADDRESS_FREE))


def failed(session: Session, email: str, address: str, now: datetime) -> None:
    """Count one failed attempt against the account and the address."""
    for key in (account_key(email), address_key(address)):
        _count(session, key, now)


def _count(session: Session, key: str, now: datetime) -> None:
    row = session.get(LoginFailures, key, with_for_update=True)
    if row is not None:
        state = record_failure(Failures(row.failures, row.last_failed_at), now)
        row.failures, row.last_failed_at = state.count, now
        session.flush()
        return
    try:
        with session.begin_nested():
            session.add(LoginFailures(key=key, failures=1, last_failed_at=now))
    except IntegrityError:
        # A parallel attempt inserted the key first (a guessing burst): count on its row.
        _count(session, key, now)


def succeeded(session: Session, email: str) -> None:
    """Forget the account's failures after a successful login."""
    row = session.get(LoginFailures, account_key(email))
    if row is not None:
        session.delete(row)
