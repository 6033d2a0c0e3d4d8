"""Tables of the Zoho CRM integration: connection, modules, mapping rows, metadata, tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from alix.db.base import Base, Id, UtcDateTime, metadata
from alix.integrations.zoho_crm.token_store import define_token_table

PENDING = "pending"  # code exchanged, waiting for "Connect ALIX"
CONNECTED = "connected"
DISCONNECTED = "disconnected"


class ZohoConnection(Base):
    """An organisation's link to one Zoho CRM org: who we are there, and the refresh token."""

    __tablename__ = "zoho_connections"
    # AUTOINCREMENT on SQLite: an id is never reused after a removal, so (connection id,
    # config_version) names one configuration forever (the sync's runs record both).
    __table_args__ = (UniqueConstraint("organisation_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(
        Id, ForeignKey("organisations.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(8))
    accounts_url: Mapped[str] = mapped_column(String(255))
    api_domain: Mapped[str] = mapped_column(String(255))
    zoho_org_id: Mapped[str] = mapped_column(String(40))
    zoho_org_name: Mapped[str] = mapped_column(String(255))
    edition: Mapped[str] = mapped_column(String(40))
    zoho_user_id: Mapped[str] = mapped_column(String(40))
    zoho_user_name: Mapped[str] = mapped_column(String(255))
    zoho_user_email: Mapped[str] = mapped_column(String(254))
    zoho_user_time_zone: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(Text)
    # Fernet ciphertext (alix.integrations.zoho_crm.crypto); never the token itself.
    refresh_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Bumped by every change of modules, rows or policies: the sync re-reads on a new value.
    config_version: Mapped[int] = mapped_column(Integer, default=1)
    conflict_policy: Mapped[str] = mapped_column(String(20))
    delete_crm_to_alix: Mapped[str] = mapped_column(String(20))
    delete_alix_to_crm: Mapped[str] = mapped_column(String(20))
    # The CRM schema snapshot (alix.integrations.zoho_crm.schema.CrmSchema.to_json()).
    crm_schema: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    schema_fetched_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    connected_by: Mapped[int | None] = mapped_column(
        Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    connected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    disconnected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ZohoModule(Base):
    """One module of the integration for a connection: its switch and chosen CRM module."""

    __tablename__ = "zoho_modules"
    __table_args__ = (UniqueConstraint("connection_id", "kind"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(
        Id, ForeignKey("zoho_connections.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    crm_module: Mapped[str | None] = mapped_column(String(100), nullable=True)
    account_lookup: Mapped[str | None] = mapped_column(String(100), nullable=True)


class ZohoFieldMapping(Base):
    """One row of a field mapper; either side may be empty (an incomplete row)."""

    __tablename__ = "zoho_field_mappings"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(
        Id, ForeignKey("zoho_connections.id", ondelete="CASCADE"), index=True
    )
    mapper: Mapped[str] = mapped_column(String(40))
    alix_field: Mapped[str | None] = mapped_column(String(100), nullable=True)
    crm_field: Mapped[str | None] = mapped_column(String(100), nullable=True)
    direction: Mapped[str] = mapped_column(String(20))


# The client's token store keeps access tokens here; declared on the app's metadata so that the
# app's migrations own the table.
zoho_access_tokens = define_token_table(metadata)
