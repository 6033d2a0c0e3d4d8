"""Creating organisations, users and API tokens, and checking credentials."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alix.clock import Clock, utc_now
from alix.errors import Conflict, ValidationFailed
from alix.identity import sessions
from alix.identity.tables import ApiToken, Organisation, Role, User

_hasher = PasswordHasher()
TOKEN_PREFIX = "alix_"
SYNC_USER_DOMAIN = "system.alix.invalid"


def create_organisation(
    session: Session, name: str, currencies: list[str], *, clock: Clock = utc_now
) -> Organisation:
    """Create an organisation trading in currencies (the first is the home currency)."""
    if not name.strip():
        raise ValidationFailed({"name": "An organisation needs a name."})
    codes = [c.strip().upper() for c in currencies if c.strip()]
    if not codes or any(len(c) != 3 or not c.isalpha() for c in codes):
        raise ValidationFailed({"currencies": "Give at least one ISO 4217 code, e.g. CAD."})
    org = Organisation(name=name.strip(), currencies=codes, created_at=clock())
    session.add(org)
    session.flush()
    return org


def add_currency(session: Session, organisation_id: int, code: str) -> str:
    """Let the organisation trade in one more currency (after the others: the home currency,
    the first, stays). Returns the ISO 4217 code as stored; refuses a malformed or known one."""
    value = code.strip().upper()
    if len(value) != 3 or not value.isascii() or not value.isalpha():
        raise ValidationFailed({"code": f"A currency is a three-letter ISO 4217 code, e.g. GBP; "
                                        f"{code.strip()!r} is not one."})
    org = session.get(Organisation, organisation_id, with_for_update=True)
    if org is None:
        raise ValidationFailed({"code": f"No organisation {organisation_id}."})
    if value in org.currencies:
        raise ValidationFailed({"code": f"{value} is already one of your currencies."})
    org.currencies = [*org.currencies, value]  # a new list: JSON columns see no in-place change
    session.flush()
    return value


def create_user(
    session: Session,
    organisation: Organisation,
    email: str,
    password: str,
    *,
    name: str = "",
    role: Role = Role.MEMBER,
    clock: Clock = utc_now,
) -> User:
    """Create a user who logs in with email and password."""
    email = email.strip().lower()
    if "@" not in email:
        raise ValidationFailed({"email": f"{email!r} is not an email address."})
    if len(password) < 8:
        raise ValidationFailed({"password": "Use at least 8 characters."})
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise Conflict(f"A user with email {email} already exists.")
    user = User(
        organisation_id=organisation.id,
        email=email,
        name=name.strip() or email.split("@")[0],
        password_hash=_hasher.hash(password),
        role=role,
        is_active=True,
        is_system=False,
        created_at=clock(),
    )
    session.add(user)
    session.flush()
    return user


def system_user(
    session: Session, organisation_id: int, name: str, *, clock: Clock = utc_now
) -> User:
    """The per-organisation system actor (e.g. "Zoho CRM sync"), created on first use."""
    slug = "".join(ch for ch in name.lower() if ch.isalnum()) or "system"
    email = f"{slug}+{organisation_id}@{SYNC_USER_DOMAIN}"
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(
            organisation_id=organisation_id,
            email=email,
            name=name,
            password_hash=None,
            role=Role.MEMBER,
            is_active=True,
            is_system=True,
            created_at=clock(),
        )
        session.add(user)
        session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active, non-system user with these credentials, or None."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active or user.is_system or not user.password_hash:
        # Spend the same time as a real check so emails cannot be probed by timing.
        _hasher.hash(password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def change_password(session: Session, user: User, password: str) -> None:
    """Set a new password and end every session of the user (a stolen cookie dies with it)."""
    if len(password) < 8:
        raise ValidationFailed({"password": "Use at least 8 characters."})
    user.password_hash = _hasher.hash(password)
    sessions.end_all(session, user.id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(
    session: Session, user: User, name: str, *, clock: Clock = utc_now
) -> tuple[ApiToken, str]:
    """Create a token acting as user; the plaintext is returned once and never stored."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        organisation_id=user.organisation_id,
        user_id=user.id,
        name=name.strip() or "API token",
        token_hash=_digest(plaintext),
        prefix=plaintext[: len(TOKEN_PREFIX) + 4],
        created_at=clock(),
    )
    session.add(token)
    session.flush()
    return token, plaintext


def user_for_token(session: Session, plaintext: str, *, clock: Clock = utc_now) -> User | None:
    """The user a live bearer token acts as, or None."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(plaintext)))
    if token is None or token.revoked_at is not None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    token.last_used_at = clock()
    return user
