"""The tables of the two-way sync: links, watermarks, inbox, issues, runs, notification
channels and API usage (SQLAlchemy Core).

Every row carries its organisation and its connection; the connection's foreign key cascades, so
removing the integration (deleting the `zoho_connections` row) removes all its sync state.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from alix.db.base import Id, UtcDateTime, metadata

# A Zoho record id: 19 digits today; room for other id formats.
ZOHO_ID = 40
MODULE = 100  # a CRM module's API name
KIND = 40  # a LinkKind value


def _scope() -> list[Column[int]]:
    return [
        Column(
            "organisation_id", Id, ForeignKey("organisations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column(
            "connection_id", Id, ForeignKey("zoho_connections.id", ondelete="CASCADE"),
            nullable=False,
        ),
    ]


# One row per synced pair and its base (sync-design.md, "The link"). No foreign key to the ALIX
# record: a tombstoned link outlives the row it paired. A row with `pending_since` set and no
# `zoho_id` is a create in flight: written before the Zoho call, completed (id stored, marker
# cleared) in the transaction that records Zoho's answer. NULL zoho ids are distinct in unique
# constraints on both SQLite and PostgreSQL, so pending rows never collide with each other.
zoho_links = Table(
    "zoho_links",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    *_scope(),
    Column("kind", String(KIND), nullable=False),
    Column("alix_id", Id, nullable=False),
    Column("zoho_module", String(MODULE), nullable=False),
    Column("zoho_id", String(ZOHO_ID)),
    # Normalized values both sides last agreed (store.links encodes Decimal values).
    Column("base", JSON, nullable=False),
    Column("base_modified_time", UtcDateTime),
    Column("base_version", Integer),
    Column("tombstoned_at", UtcDateTime),
    Column("pending_since", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("connection_id", "kind", "zoho_id"),
    UniqueConstraint("connection_id", "kind", "alix_id"),
    # Crash recovery looks for creates in flight: only those rows are indexed.
    Index(
        "ix_zoho_links_pending",
        "connection_id",
        "pending_since",
        sqlite_where=text("pending_since IS NOT NULL"),
        postgresql_where=text("pending_since IS NOT NULL"),
    ),
)

# The incremental pull's bookmark per (connection, CRM module): watermark.Watermark.to_json().
zoho_watermarks = Table(
    "zoho_watermarks",
    metadata,
    *_scope(),
    Column("module", String(MODULE), nullable=False),
    Column("watermark", JSON, nullable=False),
    # The `since` of the next `{module}/deleted` call.
    Column("deletions_checked_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("connection_id", "module"),
)

# Notification hints (not data): what Zoho told us changed, until the worker has fetched it.
zoho_inbox = Table(
    "zoho_inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    *_scope(),
    Column("module", String(MODULE), nullable=False),
    Column("zoho_id", String(ZOHO_ID), nullable=False),
    Column("operation", String(20), nullable=False),
    # `return_affected_field_values`: the changed fields' values, or None when not sent.
    Column("affected", JSON),
    Column("received_at", UtcDateTime, nullable=False),
    Column("processed_at", UtcDateTime),
    # The worker reads a round's records' pending rows, record by record.
    Index(
        "ix_zoho_inbox_pending",
        "connection_id",
        "module",
        "zoho_id",
        "id",
        sqlite_where=text("processed_at IS NULL"),
        postgresql_where=text("processed_at IS NULL"),
    ),
    # Which records come next: pending rows in id order, without the processed rows kept.
    Index(
        "ix_zoho_inbox_pending_order",
        "connection_id",
        "id",
        sqlite_where=text("processed_at IS NULL"),
        postgresql_where=text("processed_at IS NULL"),
    ),
)

# What people see: per-record rejections, errors and open conflicts, with their retries.
zoho_sync_issues = Table(
    "zoho_sync_issues",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    *_scope(),
    Column("direction", String(10), nullable=False),
    Column("kind", String(KIND), nullable=False),
    Column("alix_id", Id),
    Column("zoho_id", String(ZOHO_ID)),
    Column("code", String(60), nullable=False),
    Column("message", Text, nullable=False),
    Column("field", String(MODULE)),
    Column("details", JSON),
    # Which record and field the issue is about, whichever ids are known (store.issues builds it):
    # the unique key of open issues, so a repeat updates the open one instead of piling up.
    Column("record_key", String(200), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_retry_at", UtcDateTime),
    Column("status", String(10), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Index(
        "uq_zoho_sync_issues_open",
        "connection_id",
        "record_key",
        "code",
        unique=True,
        sqlite_where=text("status = 'open'"),
        postgresql_where=text("status = 'open'"),
    ),
    Index(
        "ix_zoho_sync_issues_retry",
        "connection_id",
        "next_retry_at",
        sqlite_where=text("status = 'open'"),
        postgresql_where=text("status = 'open'"),
    ),
)

# One row per run: what the toast, the CLI bar and the history read.
zoho_sync_runs = Table(
    "zoho_sync_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    *_scope(),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("config_version", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    # {outcome: count}, e.g. {"created": 3, "updated": 10, "conflict": 1}.
    Column("counts", JSON, nullable=False),
    # {module: {"done": n, "total": n or null}}.
    Column("progress", JSON, nullable=False),
    Column("error", Text),
    # Who or what started it: a person ("Jane Smith <jane@acme.example>"), "schedule",
    # "Zoho notification" or "command line" (store.runs.Starter); NULL for older runs.
    Column("started_by", String(300)),
    Index("ix_zoho_sync_runs_connection", "connection_id", "kind", "id"),
)

# A notification channel we asked Zoho for (engine.channels keeps it alive); the token only
# as its digest.
zoho_channels = Table(
    "zoho_channels",
    metadata,
    Column("channel_id", String(40), primary_key=True),
    Column(
        "organisation_id", Id, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False
    ),
    Column(
        "connection_id", Id, ForeignKey("zoho_connections.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("token_digest", String(64), nullable=False),
    Column("events", JSON, nullable=False),
    # NULL until Zoho has accepted the channel: written first so an early callback is known.
    Column("expires_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("renewed_at", UtcDateTime),
    Index("ix_zoho_channels_connection", "connection_id"),
)

# Zoho API calls and credits spent per connection, by every process (web and job workers on
# any machine): each client adds its counts when it closes (store.usage), and `/metrics` reads
# the totals, so a scrape of any web process sees what the workers spent.
zoho_api_usage = Table(
    "zoho_api_usage",
    metadata,
    Column(
        "connection_id", Id, ForeignKey("zoho_connections.id", ondelete="CASCADE"),
        primary_key=True, autoincrement=False,
    ),
    Column(
        "organisation_id", Id, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("calls", BigInteger, nullable=False),
    Column("credits", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
