"""Schemathesis over the whole /api: generated requests (valid and invalid) for every operation
of the OpenAPI document; any 5xx, undocumented status, body unlike its documented schema, or
invalid request accepted fails the test (issue 17).

SQLite and 10 examples per operation in `make test`; ALIX_SCHEMATHESIS_EXAMPLES raises the
count for longer runs.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from alix.bootstrap import Container
from alix.db.session import unit_of_work
from alix.identity.service import create_api_token
from alix.identity.tables import User
from tests.support import Account

EXAMPLES = int(os.environ.get("ALIX_SCHEMATHESIS_EXAMPLES", "10"))
# Not "positive data acceptance": a schema-valid request may still be refused by a rule the
# schema cannot express (an opaque cursor ALIX never gave out, a name of spaces only).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]


def _token(container: Container, account: Account) -> str:
    with unit_of_work(container.session_factory) as session:
        user = session.get(User, account.user_id)
        assert user is not None
        return create_api_token(session, user, "schemathesis")[1]


def test_every_api_operation_keeps_its_schema(
    app: FastAPI, container: Container, admin: Account
) -> None:
    headers = {"Authorization": f"Bearer {_token(container, admin)}"}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app, headers=headers)
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the schema has an invalid operation: {result}"
        operation = result.ok()
        operations += 1

        @given(operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            call()
        except Exception as exc:  # every operation's failures, not only the first one's
            failures[operation.label] = str(exc)
    assert operations >= 36
    assert not failures, "\n\n".join(f"{label}:\n{why}" for label, why in failures.items())
