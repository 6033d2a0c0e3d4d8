"""Queue the push when ALIX changes commit: the hook between the customer outbox and the sync.

Installed on the session factory by the composition root. Inserting pending outbox rows marks
the session with their organisation; just before that session commits, a "zoho_crm.push" job is
queued in the same transaction for an organisation with a live connection, unless one is
already waiting (debounce). The job then exists exactly when the change does. Rows the sync
writes itself are `skipped`, so the push never queues itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from alix.customers.outbox import PENDING
from alix.customers.tables import customer_outbox
from alix.integrations.zoho_crm.tables import CONNECTED, ZohoConnection
from alix.jobs.queue import JobQueue

from .context import lane_key
from .job_run import queue_once
from .push import PUSH_TASK

_MARK = "zoho_crm_push_orgs"


def _noticed(state: ORMExecuteState) -> None:
    statement = state.statement
    if not state.is_insert or getattr(statement, "table", None) is not customer_outbox:
        return
    params: Any = state.parameters
    rows = params if isinstance(params, list) else [params or {}]
    orgs = {r["organisation_id"] for r in rows if r.get("status") == PENDING}
    if orgs:
        state.session.info.setdefault(_MARK, set()).update(orgs)


def enqueue_push(session: Session, queue: JobQueue, organisation_id: int, *,
                 resume: int | None = None) -> bool:
    """Queue the organisation's push in the session's transaction; False when it has no live
    connection or a push is already queued for it.

    `resume`: the run of a push that handed the lane over; the push queued for its rest (this
    one, or the one already waiting) goes on with that run."""
    connection_id = session.scalar(select(ZohoConnection.id).where(
        ZohoConnection.organisation_id == organisation_id, ZohoConnection.status == CONNECTED))
    if connection_id is None:
        return False
    return queue_once(session, queue, PUSH_TASK, connection_id,
                      lease_key=lane_key(connection_id), organisation_id=organisation_id,
                      resume=resume)


def install_push_trigger(sessions: sessionmaker[Session], queue: JobQueue) -> None:
    """Listen on every session of the factory (see the module docstring)."""

    def before_commit(session: Session) -> None:
        for organisation_id in sorted(session.info.pop(_MARK, set())):
            enqueue_push(session, queue, organisation_id)

    def after_rollback(session: Session) -> None:
        session.info.pop(_MARK, None)

    event.listen(sessions, "do_orm_execute", _noticed)
    event.listen(sessions, "before_commit", before_commit)
    event.listen(sessions, "after_soft_rollback", lambda s, _t: after_rollback(s))
