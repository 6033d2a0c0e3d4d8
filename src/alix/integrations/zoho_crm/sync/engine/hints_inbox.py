"""Receiving one Zoho notification callback: check its channel and token, store its hints, wake
the worker (zoho-crm-api.md 6.1; the endpoint in alix.integrations.zoho_crm.notifications).

A callback holds ids, not records (sync-design.md, "Notifications are hints, not data"). It is
stored as it comes, whatever its order or repetition: the inbox folds duplicates, and the worker
fetches the records' current state, so a late or repeated callback changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from alix.jobs.queue import JobQueue

from ..store.inbox import add_hints
from ..store.scope import SyncScope
from .channels import verify
from .context import lane_key
from .job_run import queue_once

HINTS_TASK = "zoho_crm.hints"  # hints.TASK (hints imports the pull; the endpoint need not)
# Zoho's names are insert/update/delete; the event names (create/edit) are accepted too.
_OPERATIONS = {"insert": "insert", "create": "insert", "update": "update", "edit": "update",
               "delete": "delete"}


class CallbackRefused(Exception):
    """The callback names no channel of ours or carries the wrong token (answered 403)."""


@dataclass(frozen=True)
class Callback:
    """What one callback says: which records of which module underwent which operation."""

    module: str
    operation: str
    # (Zoho id, affected field values or None), in the callback's order.
    hints: tuple[tuple[str, Mapping[str, Any] | None], ...]


def parse_callback(body: Mapping[str, Any]) -> Callback | None:
    """The callback's hints, or None when it names no module or no id (pure)."""
    module = body.get("module")
    ids = body.get("ids")
    if not isinstance(module, str) or not module or not isinstance(ids, list):
        return None
    operation = _OPERATIONS.get(str(body.get("operation") or "").lower(), "update")
    values: dict[str, Mapping[str, Any]] = {}
    for entry in body.get("affected_values") or []:
        if isinstance(entry, Mapping) and isinstance(entry.get("values"), Mapping):
            values[str(entry.get("record_id"))] = dict(entry["values"])
    hints = tuple(
        (str(zoho_id), values.get(str(zoho_id)) if operation == "update" else None)
        for zoho_id in ids if isinstance(zoho_id, str | int) and str(zoho_id)
    )
    return Callback(module, operation, hints) if hints else None


@dataclass(frozen=True)
class Received:
    """What one accepted callback brought: its hints, and how many of them were new."""

    hints: int
    stored: int

    @property
    def replay(self) -> bool:
        """Every hint it carries is pending already: Zoho delivered this callback again (the
        worker has not drained the first yet; after that a replay is stored anew, and costs
        one record read that changes nothing)."""
        return self.hints > 0 and self.stored == 0


def receive(
    session: Session, queue: JobQueue, channel_id: str, body: Mapping[str, Any], now: datetime
) -> Received:
    """Store one callback's hints and queue the connection's hints job; returns how many hints
    it held and how many were new. Raises CallbackRefused for an unknown or expired channel or
    a wrong token.

    The job is queued only when none is queued for the connection yet: a burst of callbacks
    wakes the worker once. One that is already running does not count (it may have read the
    inbox before these hints arrived).
    """
    named = body.get("channel_id")
    channel = verify(session, channel_id, body.get("token"))
    expired = channel is not None and channel.expires_at is not None and channel.expires_at <= now
    if channel is None or expired or (named is not None and str(named) != channel_id):
        raise CallbackRefused(f"Notification refused for channel {channel_id[:40]!r}.")
    callback = parse_callback(body)
    if callback is None:
        return Received(0, 0)
    scope = SyncScope(channel.organisation_id, channel.connection_id)
    stored = add_hints(session, scope, callback.module, callback.operation, callback.hints, now)
    if stored:
        wake_worker(session, queue, scope)
    return Received(len(callback.hints), stored)


def wake_worker(session: Session, queue: JobQueue, scope: SyncScope, *,
                resume: int | None = None) -> None:
    """Queue `zoho_crm.hints` for the connection unless one is already waiting; `resume` as
    job_run.queue_once."""
    # No organisation: housekeeping, not a toast (the toast lists an organisation's jobs).
    queue_once(session, queue, HINTS_TASK, scope.connection_id,
               lease_key=lane_key(scope.connection_id), resume=resume)
