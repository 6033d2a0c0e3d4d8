"""Logs an operator can use: one configuration, timestamps, the ids of the work, no secret."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest
import structlog

from alix.bootstrap import Container
from alix.db.session import unit_of_work
from alix.jobs.queue import TaskContext
from alix.jobs.runner import JobRunner
from alix.web.logging_setup import configure_logging, log_context
from tests.integration.platform.logcapture import captured_logs
from tests.support import Account

ACCESS_TOKEN = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"
API_TOKEN = "alix_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    with captured_logs("INFO") as out:
        yield out


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_info_lines_are_json_with_an_utc_timestamp_and_level(stream: io.StringIO) -> None:
    logging.getLogger("alix.test").info("Pulled %s records of %s.", 3, "Accounts")
    (line,) = _lines(stream)
    assert line["event"] == "Pulled 3 records of Accounts."
    assert line["level"] == "info"
    assert line["logger"] == "alix.test"
    assert datetime.fromisoformat(str(line["timestamp"])).utcoffset() is not None


def test_configured_once_however_often_it_is_called(stream: io.StringIO) -> None:
    configure_logging(level="INFO", fmt="json", stream=stream)
    logging.getLogger("alix.test").warning("Once.")
    assert len(_lines(stream)) == 1


def test_context_ids_are_on_every_line_within_it(stream: io.StringIO) -> None:
    with log_context(organisation_id=7, connection_id=3, run_id=12):
        logging.getLogger("alix.sync").info("Page committed.")
    logging.getLogger("alix.sync").info("Outside.")
    inside, outside = _lines(stream)
    assert (inside["organisation_id"], inside["connection_id"], inside["run_id"]) == (7, 3, 12)
    assert "organisation_id" not in outside


def test_secrets_never_reach_the_log(stream: io.StringIO) -> None:
    log = logging.getLogger("alix.zoho")
    log.info("Refreshed: access_token=%s refresh_token=%s", ACCESS_TOKEN, ACCESS_TOKEN[::-1])
    log.info("Calling with Authorization: Zoho-oauthtoken %s", ACCESS_TOKEN)
    log.info("API call with Bearer %s", API_TOKEN)
    log.info("Token body %s", {"client_secret": "s3cr3t-value", "password": "hunter2-long"})
    text = stream.getvalue()
    for secret in (ACCESS_TOKEN, ACCESS_TOKEN[::-1], API_TOKEN, "s3cr3t-value", "hunter2-long"):
        assert secret not in text
    assert text.count("[redacted]") >= 5


def test_no_access_line_holds_an_oauth_code_or_state(stream: io.StringIO) -> None:
    """The OAuth callback's query carries a one-use grant code and the CSRF state: an access
    log line (uvicorn logs the full path) must hold neither."""
    code, state = "7f3c9a2b1d4e5f60718293a4b5c6d7e8", "s-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    logging.getLogger("alix.http.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
        f"/integrations/zoho-crm/oauth/callback?code={code}&location=us&state={state}"
        "&accounts-server=https%3A%2F%2Faccounts.zoho.com", "1.1", 303)
    text = stream.getvalue()
    assert code not in text and state not in text
    assert "location=us" in text  # only the secrets go


def test_a_job_logs_with_its_job_and_organisation(
    stream: io.StringIO, container: Container, admin: Account
) -> None:
    def noisy(ctx: TaskContext) -> None:
        logging.getLogger("alix.test.task").info("Working on %s.", ctx.payload["what"])

    container.registry.register("test.noisy")(noisy)
    with unit_of_work(container.session_factory) as session:
        job_id = container.queue.enqueue(session, "test.noisy", {"what": "it",
                                                                 "connection_id": 5},
                                         organisation_id=admin.organisation_id).id
    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       clock=container.clock, name="test-runner")
    assert asyncio.run(runner.run_job(job_id))
    (line,) = [line for line in _lines(stream) if line["logger"] == "alix.test.task"]
    assert line["job_id"] == job_id
    assert line["organisation_id"] == admin.organisation_id
    assert line["connection_id"] == 5
    assert line["task"] == "test.noisy"


def test_ids_a_job_binds_go_with_it(stream: io.StringIO, container: Container) -> None:
    # An earlier test of this process may have started a run outside any job (binding its id
    # to this thread's context): the runner restores that context, so start from a clean one.
    structlog.contextvars.clear_contextvars()
    def binds_a_run(ctx: TaskContext) -> None:
        if ctx.payload.get("run_id"):  # as a sync does once its run row exists
            structlog.contextvars.bind_contextvars(run_id=ctx.payload["run_id"])
        logging.getLogger("alix.test.task").info("A sync line.")

    container.registry.register("test.run")(binds_a_run)
    with unit_of_work(container.session_factory) as session:
        first = container.queue.enqueue(session, "test.run", {"run_id": 70}).id
        second = container.queue.enqueue(session, "test.run", {}).id
    runner = JobRunner(container.engine, container.session_factory, container.queue,
                       clock=container.clock, name="test-runner")

    async def both() -> int:  # one after the other in one task, as the runner's loop does
        return await runner.run_pending()

    assert asyncio.run(both()) == 2
    lines = _lines(stream)
    ours = [(line["job_id"], line.get("run_id")) for line in lines
            if line["logger"] == "alix.test.task"]
    assert ours == [(first, 70), (second, None)]
    done = [line for line in lines if line["event"] == f"Job {first} (test.run) done."]
    assert len(done) == 1 and done[0]["run_id"] == 70


def test_an_exception_is_logged_with_its_traceback_redacted(stream: io.StringIO) -> None:
    try:
        raise RuntimeError(f"Zoho refused access_token={ACCESS_TOKEN}")
    except RuntimeError:
        logging.getLogger("alix.test").exception("Job 3 failed.")
    (line,) = _lines(stream)
    assert line["level"] == "error"
    assert "RuntimeError: Zoho refused access_token=[redacted]" in str(line["exception"])
    assert ACCESS_TOKEN not in stream.getvalue()
