"""The `alix` command line: database, users, API tokens, the Zoho CRM sync, workers, the demo and
the server.

Commands only translate arguments into calls of the services and print what came back; every
error people can cause or meet (bad input, an unknown organisation, an unreachable database, a
failed sync) ends as one line on stderr and an exit code, never as a traceback:

    0  done
    1  a sync or a command failed (Zoho CRM, the database, the state of the data)
    2  bad usage or bad input (a missing option, a short password, an unknown organisation)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import pydantic
import typer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from alix.bootstrap import build_container
from alix.db import migrate
from alix.db.session import unit_of_work
from alix.errors import AlixError, ValidationFailed
from alix.identity.service import create_api_token, create_organisation, create_user
from alix.identity.tables import Organisation, Role, User
from alix.settings import Settings, SettingsError

if TYPE_CHECKING:
    from alix.bootstrap import Container
    from alix.console.sync_outcome import SyncOutcome
    from alix.integrations.zoho_crm.sync.engine.context import CrmFactory

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EPILOG = ("Exit codes: 0 done; 1 a sync or command failed (Zoho CRM, the database); "
          "2 bad usage or input. Settings come from ALIX_* environment variables.")


class CliError(Exception):
    """A sentence for stderr and the exit code that goes with it."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def bad_input(message: str) -> CliError:
    return CliError(message, EXIT_USAGE)


app = typer.Typer(name="alix", help="ALIX: the customer master, synchronized with Zoho CRM.",
                  epilog=EPILOG, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database migrations.", epilog=EPILOG, no_args_is_help=True)
users_app = typer.Typer(help="Users.", epilog=EPILOG, no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", epilog=EPILOG, no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object (for scripts).")]


def _emit_json(value: Mapping[str, Any]) -> None:
    print(json.dumps(value, default=str))


def _organisation_named(session: Session, name: str) -> Organisation | None:
    return session.scalars(select(Organisation).where(Organisation.name == name)).first()


@contextmanager
def _container(settings: Settings) -> Iterator[Container]:
    container = build_container(settings, with_runner=False)
    try:
        yield container
    finally:
        container.close()


def _crm_factory(container: Container) -> CrmFactory:
    """The one place the CLI reads the container's Zoho CRM collaborators (the dry run opens
    the CRM with it; the sync's job gets them from the container's task registry)."""
    return container.zoho.crm_factory


# --- db ----------------------------------------------------------------------------------------

@db_app.command("upgrade", epilog=EPILOG)
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head"
               ) -> int:
    """Migrate to the newest schema (or to REVISION)."""
    settings = Settings()
    migrate.upgrade(settings.database_url, revision)
    print(f"Database upgraded to {revision}.")
    if settings.jobs_engine == "procrastinate":
        # Web processes defer jobs into procrastinate's tables: they must exist before the
        # first request, not only once a worker has started.
        from alix.jobs.workers import ensure_schema

        with _container(settings) as container:
            created = ensure_schema(container.engine)
        print("procrastinate's job tables created." if created
              else "procrastinate's job tables are in place.")
    return EXIT_OK


@db_app.command("downgrade", epilog=EPILOG)
def db_downgrade(revision: Annotated[str, typer.Argument(help="'base' empties it.")]) -> int:
    """Migrate back to REVISION."""
    migrate.downgrade(Settings().database_url, revision)
    print(f"Database downgraded to {revision}.")
    return EXIT_OK


@db_app.command("current", epilog=EPILOG)
def db_current() -> int:
    """Show the current and newest revisions."""
    with _container(Settings()) as container:
        current = migrate.current_revision(container.engine)
    print(f"current: {current or 'none'}; head: {migrate.head_revision()}")
    return EXIT_OK


# --- users and tokens --------------------------------------------------------------------------

@users_app.command("create", epilog=EPILOG)
def users_create(
    email: Annotated[str, typer.Option(help="Their login.")],
    org: Annotated[str, typer.Option(help="Organisation name (created if missing).")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          help="At least 8 characters; prompted for if omitted.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    currencies: Annotated[str, typer.Option(help="For a new organisation: CAD,USD.")] = "USD",
    role: Annotated[Role, typer.Option(help="What they may do.")] = Role.MEMBER,
    as_json: JsonFlag = False,
) -> int:
    """Create a user (and its organisation)."""
    with _container(Settings()) as container:
        try:
            with unit_of_work(container.session_factory) as session:
                found = _organisation_named(session, org)
                organisation = found or create_organisation(
                    session, org, [c.strip() for c in currencies.split(",") if c.strip()])
                user = create_user(session, organisation, email, password, name=name, role=role)
                result = {"id": user.id, "email": user.email, "role": user.role.value,
                          "organisation": organisation.name,
                          "organisation_created": found is None}
        except AlixError as exc:  # a short password, a bad or taken email, a bad currency
            raise bad_input(_sentence(exc)) from exc
    if as_json:
        _emit_json(result)
    else:
        print(f"Created {result['role']} {result['email']} in {result['organisation']}.")
    return EXIT_OK


@tokens_app.command("create", epilog=EPILOG)
def tokens_create(
    email: Annotated[str, typer.Option(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "API token",
    as_json: JsonFlag = False,
) -> int:
    """Create an API token acting as a user (shown once)."""
    with _container(Settings()) as container, unit_of_work(container.session_factory) as session:
        user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            raise bad_input(f"No user {email}; create one with `alix users create`.")
        _, plaintext = create_api_token(session, user, name)
        result = {"token": plaintext, "name": name, "email": user.email}
    if as_json:
        _emit_json(result)
    else:
        print(plaintext)
        print("Keep this token now: it is not shown again.", file=sys.stderr)
    return EXIT_OK


# --- serving, workers, the demo ----------------------------------------------------------------

@app.command(epilog=EPILOG)
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(
        help="Web processes sharing the port (each with its own job runner unless "
             "ALIX_RUN_JOBS_IN_PROCESS=false).")] = 1,
) -> int:
    """Serve the web app: in this process, or in several behind one port."""
    import uvicorn

    from alix.web.logging_setup import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.effective_log_format)
    # log_config=None: uvicorn's lines go through ALIX's logging (JSON in production).
    if workers <= 1:
        from alix.web.app import create_app

        uvicorn.run(create_app(build_container(settings)), host=host, port=port,
                    log_config=None)
        return EXIT_OK
    import tempfile

    from alix.db.migrate import check_current
    from alix.web.metrics import prepare_multiprocess_directory

    with _container(settings) as container:  # refuse here, once, rather than in every worker
        check_current(container.engine)
    # Each worker process counts its own API usage; prometheus-client sums them through files
    # in this directory, which the workers find in their environment.
    directory = settings.prometheus_multiproc_dir or tempfile.mkdtemp(prefix="alix-metrics-")
    prepare_multiprocess_directory(directory)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    # A worker builds its whole app before it answers uvicorn's health ping: on a busy machine
    # that takes longer than uvicorn's 5 s default, which would kill and respawn it.
    uvicorn.run("alix.web.asgi:create", factory=True, workers=workers, host=host, port=port,
                log_config=None, timeout_worker_healthcheck=60)
    return EXIT_OK


class Queue(StrEnum):
    REALTIME = "realtime"
    BULK = "bulk"
    MAINTENANCE = "maintenance"


@app.command(epilog=EPILOG)
def worker(
    concurrency: Annotated[int | None, typer.Option(
        help="Jobs at once (ALIX_WORKER_CONCURRENCY).")] = None,
    queues: Annotated[list[Queue] | None, typer.Option(
        help="Serve only these queues (default: all): --queues realtime maintenance.")] = None,
    name: Annotated[str | None, typer.Option(help="Worker name in logs and leases.")] = None,
    once: Annotated[bool, typer.Option("--once", help="Run what is due, then exit.")] = False,
) -> int:
    """Run a procrastinate worker (PostgreSQL): any number, on any machine sharing the database."""
    from alix.bootstrap import worker_wiring
    from alix.jobs.workers import WorkerOptions, run_worker
    from alix.web.logging_setup import configure_logging

    settings = Settings()
    if settings.jobs_engine != "procrastinate":
        raise bad_input("`alix worker` runs procrastinate jobs: set ALIX_JOBS_ENGINE="
                        "procrastinate (PostgreSQL), and ALIX_RUN_JOBS_IN_PROCESS=false for the "
                        "web processes.")
    configure_logging(settings.log_level, settings.effective_log_format)
    options = WorkerOptions(
        concurrency=concurrency or settings.worker_concurrency,
        queues=tuple(q.value for q in queues) if queues else None, name=name,
        stalled_seconds=settings.job_heartbeat_seconds,
        relay_seconds=settings.worker_relay_seconds, wait=not once)
    with _container(settings) as container:
        asyncio.run(run_worker(worker_wiring(container), options))
    return EXIT_OK


@app.command(epilog=EPILOG)
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> int:
    """Run a demo on SQLite with sample data and the Zoho emulator."""
    from alix.demo import run_demo

    return run_demo(Settings(), host=host, port=port)


# --- the Zoho CRM sync -------------------------------------------------------------------------

@app.command(epilog=EPILOG)
def sync(
    org: Annotated[str, typer.Option(help="Organisation name.")],
    initial: Annotated[bool, typer.Option(
        "--initial", help="Count first (a total for the progress); record the initial sync."),
    ] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="With --initial: show what the first sync would do; write nothing."),
    ] = False,
    as_json: JsonFlag = False,
) -> int:
    """Pull customers from Zoho CRM now, with progress per module and the final counts."""
    # The sync is a job on the connection's lane like any other: a killed `alix sync` leaves a
    # job that any runner takes over once its heartbeat is old, resuming from the last
    # committed page; SIGTERM and Ctrl-C stop between two pages and leave the job queued.
    if dry_run and not initial:
        raise bad_input("--dry-run previews the first sync: use `alix sync --initial --dry-run`.")
    settings = Settings()
    with _container(settings) as container:
        with unit_of_work(container.session_factory) as session:
            found = _organisation_named(session, org)
            if found is None:
                raise bad_input(f"No organisation named {org!r}.")
            organisation_id = found.id
        if dry_run:
            return _preview(container, org, organisation_id, as_json)
        outcome = _run_sync(container, org, organisation_id, initial)
    if as_json:
        _emit_json(outcome.json())
    else:
        print(outcome.sentence(), file=sys.stdout if outcome.exit_code == 0 else sys.stderr)
    return outcome.exit_code


def _run_sync(container: Container, org: str, organisation_id: int, initial: bool
              ) -> SyncOutcome:
    """Queue the connection's pull and run it here, as one more job runner, showing each
    committed page as the run's row records it."""
    from alix.console.sync_outcome import BUSY, FAILED, STOPPED, SUCCEEDED, SyncOutcome, last_line
    from alix.console.sync_progress import display_for
    from alix.integrations.zoho_crm.status import job_outcome
    from alix.integrations.zoho_crm.sync.engine.runs import start_for_organisation
    from alix.integrations.zoho_crm.sync.store import runs as run_store
    from alix.integrations.zoho_crm.sync.store.scope import SyncScope
    from alix.jobs.runner import JobRunner
    from alix.jobs.shutdown import stop_on_signals
    from alix.jobs.tables import DONE, QUEUED, Job

    settings = container.settings
    with unit_of_work(container.session_factory) as session:
        job = start_for_organisation(session, container.queue, organisation_id, initial=initial,
                                     started_by=run_store.Starter.COMMAND_LINE.value)
        job_id, connection_id = job.id, int(job.payload["connection_id"])
    scope = SyncScope(organisation_id, connection_id)
    display = display_for([sys.stdout, sys.stderr])

    def show(_done: int, _total: int | None, _message: str) -> None:
        # Reported once a page committed: the run's row has every module's count by now.
        with container.session_factory() as session:
            run = run_store.latest_run(session, scope, kinds=run_store.PULL_KINDS)
        if run is not None:
            display.show(run)

    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       clock=container.clock, name=f"cli-{os.getpid()}",
                       heartbeat_seconds=settings.job_heartbeat_seconds, on_progress=show)
    display.start()
    try:
        with stop_on_signals(runner):
            ran = asyncio.run(runner.run_job(job_id))
    finally:
        display.stop()
    if not ran:
        return SyncOutcome(org, BUSY, error=(
            f"Another sync of {org}'s Zoho CRM connection is running (in the web app's "
            "background jobs or another `alix sync`); try again when it has finished. A sync "
            f"whose process was killed is taken over after {settings.job_heartbeat_seconds:g} s."))
    with container.session_factory() as session:
        done = session.get(Job, job_id)
        assert done is not None
        outcome = job_outcome(session, done)
        run = outcome["run"] or {}
        recorded = (run_store.get_run(session, scope, int(run["id"])) if run.get("id")
                    else None)
        status, error = done.status, done.error
    ended = SyncOutcome(
        org, SUCCEEDED, kind=run.get("kind"), counts=run.get("counts") or {},
        read={m: p.done for m, p in recorded.progress.items()} if recorded else {},
        attention=int(outcome["attention"]),
        details=settings.public_base + str(outcome["link"]))
    if status == DONE:
        return ended
    if runner.stopping:
        return replace(ended, status=STOPPED)
    return replace(ended, status=FAILED, error=last_line(error), retried=status == QUEUED)


def _preview(container: Container, org: str, organisation_id: int, as_json: bool) -> int:
    """`--initial --dry-run`: the first sync's walk and plan without its apply."""
    from alix.console.preview_report import as_json as preview_json
    from alix.console.preview_report import lines
    from alix.console.sync_progress import display_for
    from alix.integrations.zoho_crm import preview
    from alix.integrations.zoho_crm.repository import connected
    from alix.integrations.zoho_crm.sync.engine.context import open_context

    with unit_of_work(container.session_factory) as session:
        connection_id = connected(session, organisation_id).id
    factory = _crm_factory(container)

    async def work() -> preview.Preview:
        # The preview checks each record against the organisation's rules (its currencies)
        # as the sync will: what they would reject is in it, with the reason.
        async with open_context(container.session_factory, connection_id, factory,
                                container.clock) as ctx:
            return await preview.preview_first_sync(ctx)

    display = display_for([sys.stdout, sys.stderr])
    display.start()
    try:
        shown = asyncio.run(work())
    finally:
        display.stop()
    if not shown.modules:
        raise CliError("Activate Customers on Zoho CRM's Details first: the sync imports "
                       "customers, so there is nothing to preview.")
    base = container.settings.public_base
    if as_json:
        _emit_json(preview_json(shown, org, base))
    else:
        print("\n".join(lines(shown, org, base)))
    return EXIT_OK


# --- the entry point ---------------------------------------------------------------------------

def _sentence(exc: BaseException) -> str:
    """An error as one line: a validation's fields, or the first line of its message."""
    if isinstance(exc, ValidationFailed):
        return "; ".join(" ".join(v) for v in exc.errors.values())
    if isinstance(exc, pydantic.ValidationError):
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def database_problem(exc: OperationalError | ProgrammingError) -> str | None:
    """What to say about a database error met outside any service, or None (a bug: re-raise)."""
    driver = _sentence(exc.orig) if exc.orig is not None else _sentence(exc)
    if "no such table" in driver or ("does not exist" in driver and "relation" in driver):
        return (f"The database has no ALIX tables yet ({driver}): run `alix db upgrade`.")
    if isinstance(exc, OperationalError):
        return (f"Cannot use the database: {driver}. Check ALIX_DATABASE_URL and that the "
                "database is running.")
    return None


def spread_queues(argv: Sequence[str]) -> list[str]:
    """`--queues realtime bulk` (the documented form) as click reads a repeated option:
    `--queues realtime --queues bulk`."""
    out: list[str] = []
    spreading = False
    for arg in argv:
        if arg == "--queues":
            spreading = True
            continue
        if spreading and not arg.startswith("-"):
            out += ["--queues", arg]
            continue
        spreading = False
        out.append(arg)
    return out


def _fail(message: str) -> None:
    print(f"alix: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    args = spread_queues(sys.argv[1:] if argv is None else argv)
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="alix", standalone_mode=False)
    except typer.TyperException as exc:  # usage: a missing or bad option (exit code 2)
        show = getattr(exc, "show", None)  # click's usage and hint, then "Error: ..."
        if callable(show):
            show()
        else:
            _fail(exc.format_message())
        return exc.exit_code
    except typer.Abort:  # end of input at a prompt (Ctrl-C exits with 130)
        _fail("no answer to the prompt: give the option instead (e.g. --password).")
        return EXIT_USAGE
    except CliError as exc:
        _fail(str(exc))
        return exc.code
    except (SettingsError, pydantic.ValidationError) as exc:
        _fail(f"bad settings: {_sentence(exc)}")
        return EXIT_USAGE
    except AlixError as exc:
        _fail(_sentence(exc))
        return EXIT_FAILED
    except (OperationalError, ProgrammingError) as exc:
        problem = database_problem(exc)
        if problem is None:
            raise
        _fail(problem)
        return EXIT_FAILED
    return result if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
