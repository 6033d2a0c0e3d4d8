"""Runs: started with the configuration version, advanced per page, finished."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from alix.errors import NotFound
from alix.integrations.zoho_crm.sync.store import runs as store
from alix.integrations.zoho_crm.sync.store.runs import ModuleProgress, RunKind, RunStatus
from alix.integrations.zoho_crm.sync.store.scope import SyncScope

from .conftest import NOW


def test_a_run_from_start_to_finish(session: Session, scope: SyncScope) -> None:
    run_id = store.start_run(session, scope, RunKind.INITIAL, 4, NOW,
                             totals={"Accounts": 250, "Contacts": None})
    session.commit()
    started = store.get_run(session, scope, run_id)
    assert (started.status, started.config_version, started.started_at) == (
        RunStatus.RUNNING, 4, NOW)
    assert started.progress == {"Accounts": ModuleProgress(0, 250),
                                "Contacts": ModuleProgress(0, None)}
    assert started.total is None and started.done == 0

    store.record_progress(session, scope, run_id, module="Accounts", done=200,
                          counts={"created": 150, "linked": 50})
    store.record_progress(session, scope, run_id, module="Accounts", done=50,
                          counts={"created": 40, "conflict": 1})
    store.record_progress(session, scope, run_id, module="Contacts", done=10, total=30)
    run = store.get_run(session, scope, run_id)
    store.finish_run(session, scope, run_id, RunStatus.SUCCEEDED, NOW + timedelta(minutes=2))
    session.commit()
    assert run.progress["Contacts"] == ModuleProgress(10, 30)
    done = store.get_run(session, scope, run_id)
    assert done.counts == {"created": 190, "linked": 50, "conflict": 1}
    assert done.progress["Accounts"] == ModuleProgress(250, 250)
    assert (done.done, done.total) == (260, 280)
    assert (done.status, done.finished_at, done.error) == (
        RunStatus.SUCCEEDED, NOW + timedelta(minutes=2), None)


def test_latest_run_by_kind(session: Session, scope: SyncScope, other: SyncScope) -> None:
    assert store.latest_run(session, scope) is None
    first = store.start_run(session, scope, RunKind.INCREMENTAL, 1, NOW)
    push = store.start_run(session, scope, RunKind.PUSH, 1, NOW + timedelta(seconds=1))
    store.finish_run(session, scope, first, RunStatus.FAILED, NOW,
                     error="Zoho refused the token of connection 1: invalid_code")
    store.start_run(session, other, RunKind.INCREMENTAL, 1, NOW + timedelta(seconds=2))
    session.commit()
    latest = store.latest_run(session, scope)
    assert latest is not None and latest.id == push
    failed = store.latest_run(session, scope, RunKind.INCREMENTAL)
    assert failed is not None and failed.id == first and failed.status is RunStatus.FAILED
    assert failed.error == "Zoho refused the token of connection 1: invalid_code"
    with pytest.raises(NotFound):
        store.get_run(session, other, push)


def test_a_new_run_marks_a_run_left_running_by_a_dead_process_interrupted(
    session: Session, scope: SyncScope, other: SyncScope
) -> None:
    # Runs of a connection start on its lane, one at a time: a run still 'running' when the
    # next one starts belongs to a process that died.
    dead = store.start_run(session, scope, RunKind.INITIAL, 1, NOW)
    elsewhere = store.start_run(session, other, RunKind.INITIAL, 1, NOW)
    session.commit()
    resumed = store.start_run(session, scope, RunKind.INITIAL, 1, NOW + timedelta(minutes=5))
    session.commit()
    left = store.get_run(session, scope, dead)
    assert (left.status, left.finished_at) == (RunStatus.INTERRUPTED,
                                               NOW + timedelta(minutes=5))
    assert left.error and "stopped before it finished" in left.error
    assert store.get_run(session, scope, resumed).status is RunStatus.RUNNING
    assert store.get_run(session, other, elsewhere).status is RunStatus.RUNNING


def test_a_stopped_run_is_recorded_as_interrupted(session: Session, scope: SyncScope) -> None:
    run_id = store.start_run(session, scope, RunKind.INITIAL, 1, NOW)
    store.interrupt_run(session, scope, run_id, NOW + timedelta(seconds=30),
                        "Stopped with its process; the next run resumes from its last page.")
    session.commit()
    run = store.get_run(session, scope, run_id)
    assert run.status is RunStatus.INTERRUPTED
    assert run.error == "Stopped with its process; the next run resumes from its last page."
