"""kill -9 during the sync: an initial import through `alix sync` and a push of ALIX changes
through a job runner, each process killed at fixed points. The next process, with no manual
step, takes the dead one's job over once its heartbeat is older than the threshold and
finishes with exact counts and no duplicate on either side."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from alix.customers import bulk
from alix.customers.domain import Actor, NewCustomer, Origin
from alix.customers.outbox import DONE as OUTBOX_DONE
from alix.customers.service import create_customers
from alix.customers.tables import contact_persons, customer_outbox, customers
from alix.db.session import unit_of_work
from alix.integrations.zoho_crm.sync.store.tables import (
    zoho_links,
    zoho_sync_issues,
    zoho_sync_runs,
)
from alix.jobs.tables import DONE, Job
from zoho_emulator.testing import EmulatorServer

from .conftest import World, emulator, world

KILLED = -9
THRESHOLD = 4.0  # seconds without a heartbeat before a job is taken over


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with emulator(accounts=500, contacts_per_account=1) as server:  # 1,000 records
        yield server


@pytest.fixture
def crash(engine: Engine, emu: EmulatorServer) -> Iterator[World]:
    yield from world(engine, emu, THRESHOLD)


def _zoho(emu: EmulatorServer, module: str) -> list[dict[str, Any]]:
    return list(emu.state.default_org.store(module).records.values())


def _count(session: Session, table: Any, *where: Any) -> int:
    return int(session.execute(select(func.count()).select_from(table).where(*where))
               .scalar_one())


def _killed(world: World, done: Any) -> float:
    assert done.returncode == KILLED, "\n".join(world.log)
    return time.monotonic()


def _wait_out(since: float, threshold: float) -> None:
    """Let the dead process's heartbeat grow older than the threshold, and no more."""
    time.sleep(max(0.0, since + threshold - time.monotonic()))


def check_pull(world: World) -> None:
    """Every Zoho Account is a customer once or an open issue saying why not; every Contact
    of an imported Account is a contact person once; nothing is left without its link."""
    org = world.admin.organisation_id
    accounts, contacts = _zoho(world.emu, "Accounts"), _zoho(world.emu, "Contacts")
    with Session(world.container.engine) as session:
        imported = _count(session, customers, customers.c.organisation_id == org)
        rejected = _count(session, zoho_sync_issues, zoho_sync_issues.c.kind == "customer",
                          zoho_sync_issues.c.status == "open")
        linked = session.execute(select(zoho_links.c.zoho_id).where(
            zoho_links.c.kind == "customer", zoho_links.c.tombstoned_at.is_(None))).scalars().all()
        people = _count(session, contact_persons, contact_persons.c.organisation_id == org)
        people_links = _count(session, zoho_links, zoho_links.c.kind == "contact")
    assert imported + rejected == len(accounts), "\n".join(world.log)
    assert len(linked) == imported, "a customer without its link is a duplicate"
    with_account = [c for c in contacts if str(c.get("Account_Name") or "") in set(linked)]
    assert people == people_links == len(with_account)


def make_changes(world: World, renames: int, creates: int) -> tuple[dict[str, str], set[str]]:
    """Rename `renames` imported customers and create `creates` new ones, in one transaction:
    the push trigger queues one push job."""
    org = world.admin.organisation_id
    actor = Actor(org, world.admin.user_id, Origin.USER)
    with unit_of_work(world.container.session_factory) as session:
        rows = session.execute(select(customers.c.id, customers.c.name).where(
            customers.c.organisation_id == org).order_by(customers.c.id).limit(renames)).all()
        # Zoho's Account_Name is unique and the seed repeats a few names: rename by id.
        renamed = {str(r.id): f"{r.name} (renamed {r.id})" for r in rows}
        results = bulk.update_customers(session, actor, [
            bulk.RecordUpdate(r.id, {"name": renamed[str(r.id)]}) for r in rows])
        assert all(not getattr(r, "errors", None) for r in results), results[:3]
        created = {f"Crash Customer {i:05d}" for i in range(creates)}
        create_customers(session, actor, [NewCustomer({"name": n, "currency": "CAD"})
                                          for n in sorted(created)])
    return renamed, created


def check_push(world: World, accounts_before: int, renamed: dict[str, str],
               created: set[str]) -> None:
    """Zoho holds each new customer once and every rename; ALIX has nothing left to send."""
    names = Counter(str(a.get("Account_Name")) for a in _zoho(world.emu, "Accounts"))
    assert sum(names.values()) == accounts_before + len(created), "\n".join(world.log)
    assert all(names[n] == 1 for n in created), "a customer was created twice in Zoho"
    assert all(names[new] == 1 for new in renamed.values())
    with Session(world.container.engine) as session:
        unsent = _count(session, customer_outbox, customer_outbox.c.status != OUTBOX_DONE,
                        customer_outbox.c.origin == Origin.USER.value)
        linked_new = _count(session, zoho_links, zoho_links.c.kind == "customer",
                            zoho_links.c.pending_since.is_(None))
        imported = _count(session, customers,
                          customers.c.organisation_id == world.admin.organisation_id)
        left = session.execute(select(
            customer_outbox.c.status, customer_outbox.c.entity, customer_outbox.c.operation,
            customer_outbox.c.customer_id).where(
            customer_outbox.c.status != OUTBOX_DONE,
            customer_outbox.c.origin == Origin.USER.value)).all()
        issues = session.execute(select(zoho_sync_issues.c.code, zoho_sync_issues.c.message)
                                 .where(zoho_sync_issues.c.direction == "push")).all()
    assert unsent == 0, f"{left[:10]}\n{issues[:10]}\n" + "\n".join(world.log)
    assert linked_new == imported, "every ALIX customer is linked once, none in flight"


def check_jobs_and_runs(world: World, interrupted: int) -> None:
    with Session(world.container.engine) as session:
        sync_jobs = session.execute(select(Job.task, Job.status).where(
            Job.task.in_(("zoho_crm.pull", "zoho_crm.push")))).all()
        runs = session.execute(select(zoho_sync_runs.c.status).order_by(zoho_sync_runs.c.id)
                               ).scalars().all()
    assert sync_jobs and all(status == DONE for _, status in sync_jobs), sync_jobs
    assert runs.count("interrupted") == interrupted and runs[-1] == "succeeded", runs
    assert "running" not in runs


def test_killed_syncs_resume_with_exact_counts_and_no_duplicates(
    crash: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from alix.cli import main

    # 1. `alix sync --initial`, killed after its 2nd committed page (of 3 Accounts pages).
    killed = _killed(crash, crash.spawn("cli", "--initial", CRASH_KILL_AFTER_PAGES="2"))
    # Within the threshold the dead sync's job still looks alive: refused, not run twice.
    for name, value in crash.env.items():
        if name.startswith("ALIX_"):
            monkeypatch.setenv(name, value)
    assert main(["sync", "--org", "Acme Ltd", "--initial"]) == 1  # refused, not run twice
    assert "Another sync" in capsys.readouterr().err
    # 2. Past the threshold the next `alix sync` takes the job over: killed again, in Contacts.
    _wait_out(killed, THRESHOLD)
    killed = _killed(crash, crash.spawn("cli", "--initial", CRASH_KILL_AFTER_PAGES="2"))
    _wait_out(killed, THRESHOLD)
    finished = crash.spawn("cli", "--initial")
    assert finished.returncode == 0, "\n".join(crash.log)
    assert "Zoho CRM sync of Acme Ltd done" in finished.stdout
    check_pull(crash)

    # 3. 1,000 ALIX changes; the runner pushing them is killed after Zoho answered its 3rd
    # write (ALIX has not recorded that answer), then a runner finishes the push.
    accounts_before = len(_zoho(crash.emu, "Accounts"))
    renamed, created = make_changes(crash, renames=500, creates=500)
    _killed(crash, crash.spawn("runner", CRASH_KILL_AFTER_WRITES="3"))
    finished = crash.spawn("runner")
    assert finished.returncode == 0, "\n".join(crash.log)
    check_push(crash, accounts_before, renamed, created)
    # Two killed pulls and the killed push: each run says it was interrupted.
    check_jobs_and_runs(crash, interrupted=3)


def test_a_killed_import_written_by_a_second_process_resumes_with_exact_counts(
    crash: World,
) -> None:
    # Past ALIX_ZOHO_IMPORT_PROCESS_ABOVE a child process writes the pages (page_writer): a
    # SIGKILL of `alix sync` leaves it at most the pages it was handed, each committed whole
    # with its watermark, and the next sync resumes after the last of them.
    # No head start: the child writes from the first page on, so the kill is in its pages.
    apart = {"ALIX_ZOHO_IMPORT_PROCESS_ABOVE": "1", "ALIX_ZOHO_IMPORT_HEAD_START": "false"}
    killed = _killed(crash, crash.spawn("cli", "--initial", CRASH_KILL_AFTER_PAGES="2",
                                        **apart))
    _wait_out(killed, THRESHOLD)
    finished = crash.spawn("cli", "--initial", **apart)
    assert finished.returncode == 0, "\n".join(crash.log)
    check_pull(crash)
    check_jobs_and_runs(crash, interrupted=1)


def test_an_import_killed_while_its_accounts_settle_still_imports_their_contacts(
    crash: World,
) -> None:
    # Every Account changed a moment ago (as the push of the test before renamed them): the
    # first `alix sync` leaves them to the next run (the settle window) and reads their
    # Contacts now, which wait for them as issues. It is killed after its first page, while
    # its writer process is still starting (the first pages are written by `alix sync`
    # itself: HeadStart). The next sync imports the Accounts and, at once, their Contacts;
    # the writer process of the killed one ended with it.
    accounts = crash.emu.state.default_org.store("Accounts")
    now = int(time.time())
    for rid, record in list(accounts.records.items()):
        accounts.put(rid, {**record, "Modified_Time": now})
    apart = {"ALIX_ZOHO_IMPORT_PROCESS_ABOVE": "1"}
    killed = _killed(crash, crash.spawn("cli", "--initial", CRASH_KILL_AFTER_PAGES="1",
                                        timeout=60, **apart))
    _wait_out(killed, THRESHOLD)
    finished = crash.spawn("cli", "--initial", **apart)
    assert finished.returncode == 0, "\n".join(crash.log)
    check_pull(crash)
    check_jobs_and_runs(crash, interrupted=1)


@pytest.mark.soak
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)])
def test_soak_random_kills(backend: str, engine: Engine) -> None:
    """ALIX_SOAK=1: ALIX_SOAK_RECORDS records (20,000), kills at random points."""
    import os

    records = int(os.environ.get("ALIX_SOAK_RECORDS", "20000"))
    seed = int(os.environ.get("ALIX_SOAK_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    print(f"soak seed {seed}, {records} records on {backend}")
    accounts = records // 2
    with emulator(accounts=accounts, contacts_per_account=1) as emu:
        soak = next(world(engine, emu, THRESHOLD))
        pages = records // 200 + 2
        # The pull job allows 3 attempts, so at most 2 of its processes may die.
        killed = time.monotonic() - THRESHOLD
        for _ in range(2):
            _wait_out(killed, THRESHOLD)
            done = soak.spawn("cli", "--initial", timeout=1800,
                              CRASH_KILL_AFTER_PAGES=str(rng.randrange(1, pages)))
            if done.returncode == 0:
                break
            killed = _killed(soak, done)
        else:
            _wait_out(killed, THRESHOLD)
            assert soak.spawn("cli", "--initial", timeout=1800).returncode == 0, \
                "\n".join(soak.log)
        check_pull(soak)
        before = len(_zoho(emu, "Accounts"))
        changes = min(records // 4, 4000)  # one push job sends up to 10,000 records
        renamed, created = make_changes(soak, renames=changes // 2, creates=changes // 2)
        writes = changes // 100 + 2
        for _ in range(rng.randrange(1, 4)):  # the push job allows 5 attempts
            done = soak.spawn("runner", timeout=1800,
                              CRASH_KILL_AFTER_WRITES=str(rng.randrange(1, writes)))
            if done.returncode == 0:
                break
            _killed(soak, done)
        assert soak.spawn("runner", timeout=1800).returncode == 0, "\n".join(soak.log)
        check_push(soak, before, renamed, created)

