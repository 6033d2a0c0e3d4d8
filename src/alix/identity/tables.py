"""Tables of organisations, their users, API tokens, browser sessions and failed logins."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from alix.db.base import Base, Id, UtcDateTime


class Role(enum.StrEnum):
    """What a user may do: admins manage integrations and settings, members the data."""

    ADMIN = "admin"
    MEMBER = "member"


class Organisation(Base):
    """A business using ALIX; every business row belongs to exactly one."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    # ISO 4217 codes the organisation trades in; the first is the home currency.
    currencies: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    @property
    def home_currency(self) -> str:
        return self.currencies[0] if self.currencies else "USD"


class User(Base):
    """A person (or a system actor such as "Zoho CRM sync") acting in one organisation."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("email"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(
        Id, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # System users act for integrations; they cannot log in.
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class ApiToken(Base):
    """A bearer token for the REST API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(
        Id, ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WebSession(Base):
    """A logged-in browser session; the cookie holds its secret, only the SHA-256 is stored.

    Deleting the row ends the session at once, whatever copies of the cookie exist.
    """

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Id, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LoginFailures(Base):
    """Recent failed logins per account ("account:<email>") or client ("address:<ip>"),
    shared by every web process (alix.identity.throttle)."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[datetime] = mapped_column(UtcDateTime)
