"""Server-side browser sessions: the signed cookie carries a random secret, the database says
whether it is still live. Logout deletes one; a password change deletes all of a user's."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from alix.identity.tables import WebSession


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start(session: Session, user_id: int, now: datetime, max_age: timedelta) -> str:
    """A new live session of user_id; returns its secret for the cookie (stored hashed).

    The user's sessions past max_age are deleted on the way: rows never outgrow the logins.
    """
    session.execute(delete(WebSession).where(WebSession.user_id == user_id,
                                             WebSession.created_at <= now - max_age))
    secret = secrets.token_urlsafe(32)
    session.add(WebSession(id=_digest(secret), user_id=user_id, created_at=now))
    session.flush()
    return secret


def user_of(session: Session, secret: object, now: datetime, max_age: timedelta) -> int | None:
    """The user of a live session not older than max_age, or None."""
    if not isinstance(secret, str) or not secret:
        return None
    row = session.get(WebSession, _digest(secret))
    if row is None or row.created_at + max_age <= now:
        return None
    return row.user_id


def end(session: Session, secret: object) -> None:
    """End one session (logout); an unknown or already ended one is fine."""
    if isinstance(secret, str) and secret:
        session.execute(delete(WebSession).where(WebSession.id == _digest(secret)))


def end_all(session: Session, user_id: int) -> None:
    """End every session of the user (password change, deactivation)."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def count_for_user(session: Session, user_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(WebSession)
                              .where(WebSession.user_id == user_id)) or 0)
