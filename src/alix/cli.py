"""The `alix` command line: database, users, API tokens, the demo and the server."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from alix.bootstrap import build_container
from alix.db import migrate
from alix.db.session import unit_of_work
from alix.identity.model import Organisation, Role
from alix.identity.service import create_api_token, create_organisation, create_user
from alix.settings import Settings


def _db(args: argparse.Namespace, settings: Settings) -> int:
    if args.db_command == "upgrade":
        migrate.upgrade(settings.database_url, args.revision)
        print(f"Database upgraded to {args.revision}.")
        if settings.jobs_engine == "procrastinate":
            # Web processes defer jobs into procrastinate's tables: they must exist before
            # the first request, not only once a worker has started.
            from alix.jobs.workers import ensure_schema

            container = build_container(settings, with_runner=False)
            try:
                created = ensure_schema(container.engine)
            finally:
                container.close()
            print("procrastinate's job tables created." if created
                  else "procrastinate's job tables are in place.")
    elif args.db_command == "downgrade":
        migrate.downgrade(settings.database_url, args.revision)
        print(f"Database downgraded to {args.revision}.")
    else:
        container = build_container(settings, with_runner=False)
        try:
            current = migrate.current_revision(container.engine)
        finally:
            container.close()
        print(f"current: {current or 'none'}; head: {migrate.head_revision()}")
    return 0


def _organisation_named(session: Session, name: str) -> Organisation | None:
    return session.scalars(select(Organisation).where(Organisation.name == name)).first()


def _users(args: argparse.Namespace, settings: Settings) -> int:
    container = build_container(settings, with_runner=False)
    password = args.password or getpass.getpass("Password: ")
    try:
        with unit_of_work(container.session_factory) as session:
            org = _organisation_named(session, args.org)
            if org is None:
                org = create_organisation(session, args.org, args.currencies.split(","))
            user = create_user(session, org, args.email, password, name=args.name or "",
                               role=Role(args.role))
            print(f"Created {user.role.value} {user.email} in {org.name}.")
    finally:
        container.close()
    return 0


def _tokens(args: argparse.Namespace, settings: Settings) -> int:
    from alix.identity.model import User

    container = build_container(settings, with_runner=False)
    try:
        with unit_of_work(container.session_factory) as session:
            user = session.scalars(select(User).where(User.email == args.email.lower())).first()
            if user is None:
                raise SystemExit(f"No user {args.email}; create one with `alix users create`.")
            _, plaintext = create_api_token(session, user, args.name)
        print(plaintext)
        print("Keep this token now: it is not shown again.", file=sys.stderr)
    finally:
        container.close()
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the app: in this process, or in `--workers` processes behind one port."""
    import uvicorn

    from alix.web.logging_setup import configure_logging

    configure_logging(settings.log_level, settings.effective_log_format)
    # log_config=None: uvicorn's lines go through ALIX's logging (JSON in production).
    if args.workers <= 1:
        from alix.web.app import create_app

        app = create_app(build_container(settings))
        uvicorn.run(app, host=args.host, port=args.port, log_config=None)
        return 0
    import tempfile

    from alix.db.migrate import check_current
    from alix.web.metrics import prepare_multiprocess_directory

    container = build_container(settings, with_runner=False)
    try:  # refuse here, once, rather than in every worker
        check_current(container.engine)
    finally:
        container.close()
    # Each worker process counts its own API usage; prometheus-client sums them through
    # files in this directory, which the workers find in their environment.
    directory = settings.prometheus_multiproc_dir or tempfile.mkdtemp(prefix="alix-metrics-")
    prepare_multiprocess_directory(directory)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    # A worker builds its whole app before it answers uvicorn's health ping: on a busy
    # machine that takes longer than uvicorn's 5 s default, which would kill and respawn it.
    uvicorn.run("alix.web.asgi:create", factory=True, workers=args.workers, host=args.host,
                port=args.port, log_config=None, timeout_worker_healthcheck=60)
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from alix.demo import run_demo

    return run_demo(settings, host=args.host, port=args.port)


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    """Queue the connection's pull and run it here, as one more job runner.

    The job holds the connection's lane like any other, with a heartbeat: a killed
    `alix sync` leaves a job that any runner (the web app's, the next `alix sync`) takes over
    once the heartbeat is `job_heartbeat_seconds` old, resuming from the last committed page.
    SIGTERM and Ctrl-C stop between two pages and leave the job queued.
    """
    import asyncio

    from alix.errors import AlixError
    from alix.integrations.zoho_crm.repository import connected
    from alix.integrations.zoho_crm.sync.engine.runs import start_pull
    from alix.jobs.model import DONE, QUEUED, Job
    from alix.jobs.runner import JobRunner
    from alix.jobs.shutdown import stop_on_signals

    container = build_container(settings, with_runner=False)

    def show(done: int, total: int | None, message: str) -> None:
        count = f"{done}/{total}" if total is not None else str(done)
        print(f"\r{message} [{count}]".ljust(100), end="", file=sys.stderr, flush=True)

    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       clock=container.clock, name=f"cli-{os.getpid()}",
                       services=container.extras,
                       heartbeat_seconds=settings.job_heartbeat_seconds, on_progress=show)
    try:
        with unit_of_work(container.session_factory) as session:
            org = _organisation_named(session, args.org)
            if org is None:
                raise SystemExit(f"No organisation named {args.org!r}.")
            connection_id = connected(session, org.id).id
            job_id = start_pull(session, container.queue, org.id, connection_id,
                                initial=args.initial).id
        with stop_on_signals(runner):
            ran = asyncio.run(runner.run_job(job_id))
        with container.session_factory() as session:
            job = session.get(Job, job_id)
            assert job is not None
            status, message, error = job.status, job.progress_message, job.error
    except AlixError as exc:
        print(file=sys.stderr)
        raise SystemExit(str(exc)) from exc
    finally:
        container.close()
    if not ran:
        raise SystemExit(
            f"Another sync of {args.org}'s Zoho CRM connection is running (in the web app's "
            "background jobs or another `alix sync`); try again when it has finished. A sync "
            "whose process was killed is taken over after "
            f"{settings.job_heartbeat_seconds:g} s."
        )
    print(file=sys.stderr)
    if status == DONE:
        outcome = message.removeprefix("Zoho CRM sync done: ")
        print(f"Zoho CRM sync of {args.org} done: {outcome}.")
        return 0
    if runner.stopping:
        print(f"Zoho CRM sync of {args.org} stopped after its last committed page; it "
              "resumes from there with the next `alix sync` or the web app's background jobs.")
        return 1
    # The job keeps the traceback; its last line is the exception and its sentence.
    last = ((error or "").strip().splitlines() or ["Error: no error was recorded"])[-1]
    retry = " It is tried again in the background jobs." if status == QUEUED else ""
    raise SystemExit(f"The Zoho CRM sync of {args.org} failed: "
                     f"{last.split(': ', 1)[-1]}{retry}")


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run a procrastinate worker: any number of them, on any machine sharing the database."""
    import asyncio

    from alix.bootstrap import worker_wiring
    from alix.jobs.workers import WorkerOptions, run_worker
    from alix.web.logging_setup import configure_logging

    if settings.jobs_engine != "procrastinate":
        raise SystemExit("`alix worker` runs procrastinate jobs: set ALIX_JOBS_ENGINE="
                         "procrastinate (PostgreSQL), and ALIX_RUN_JOBS_IN_PROCESS=false for "
                         "the web processes.")
    configure_logging(settings.log_level, settings.effective_log_format)
    container = build_container(settings, with_runner=False)
    options = WorkerOptions(
        concurrency=args.concurrency or settings.worker_concurrency,
        queues=tuple(args.queues) if args.queues else None, name=args.name,
        stalled_seconds=settings.job_heartbeat_seconds,
        relay_seconds=settings.worker_relay_seconds, wait=not args.once)
    try:
        asyncio.run(run_worker(worker_wiring(container), options))
    finally:
        container.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alix", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="migrate to the newest schema")
    up.add_argument("revision", nargs="?", default="head")
    down = db_sub.add_parser("downgrade", help="migrate back to a revision ('base' empties)")
    down.add_argument("revision")
    db_sub.add_parser("current", help="show the current and newest revisions")

    users = sub.add_parser("users", help="users")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser("create", help="create a user (and its organisation)")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="prompted for when omitted")
    create.add_argument("--name")
    create.add_argument("--org", required=True, help="organisation name (created if missing)")
    create.add_argument("--currencies", default="USD", help="for a new organisation: CAD,USD")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.MEMBER.value)

    tokens = sub.add_parser("tokens", help="API tokens")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True)
    tcreate = tokens_sub.add_parser("create", help="create an API token acting as a user")
    tcreate.add_argument("--email", required=True)
    tcreate.add_argument("--name", default="API token")

    serve = sub.add_parser("serve", help="serve the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1,
                       help="web processes sharing the port (each with its own job runner "
                            "unless ALIX_RUN_JOBS_IN_PROCESS=false)")

    sync = sub.add_parser("sync", help="pull customers from Zoho CRM now")
    sync.add_argument("--org", required=True, help="organisation name")
    sync.add_argument("--initial", action="store_true",
                      help="count first (a total for the progress) and record the initial sync")

    worker = sub.add_parser("worker", help="run a procrastinate worker (PostgreSQL)")
    worker.add_argument("--concurrency", type=int, help="jobs at once (ALIX_WORKER_CONCURRENCY)")
    worker.add_argument("--queues", nargs="+", choices=["realtime", "bulk", "maintenance"],
                        help="serve only these queues (default: all)")
    worker.add_argument("--name", help="worker name in logs and leases")
    worker.add_argument("--once", action="store_true", help="run what is due, then exit")

    demo = sub.add_parser("demo", help="run a demo on SQLite with sample data")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    handlers = {"db": _db, "users": _users, "tokens": _tokens, "serve": _serve, "demo": _demo,
                "sync": _sync, "worker": _worker}
    return handlers[args.command](args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
