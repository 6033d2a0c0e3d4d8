"""Bounded request bodies, ids and text the databases can store, and an API schema that tells
the truth about its errors (issue 17)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.types import Message

from alix.bootstrap import Container
from alix.web.app import create_app
from tests.support import Account, csrf_of, login

BIG = 96 * 1024 * 1024


def test_a_96_mb_form_post_is_refused_with_413_at_once(client: TestClient) -> None:
    body = b"a" * BIG
    started = time.monotonic()
    response = client.post("/customers/new", content=body,
                           headers={"content-type": "application/x-www-form-urlencoded"})
    elapsed = time.monotonic() - started
    assert response.status_code == 413
    assert "too large" in response.text
    assert elapsed < 1.0
    assert client.get("/healthz").status_code == 200


def test_a_large_api_body_is_413_even_with_a_valid_token(
    client: TestClient, admin: Account
) -> None:
    login(client, admin)
    response = client.post("/api/v1/customers", content=b"{" + b" " * (8 * 1024 * 1024) + b"}",
                           headers={"content-type": "application/json",
                                    "x-csrf-token": csrf_of(client.get("/").text)})
    assert response.status_code == 413
    assert response.json()["detail"].startswith("The request body is too large")


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(container: Container) -> None:
    """A chunked body announces no size: reading stops at the limit, not at the end."""
    import anyio

    app = create_app(container)
    chunk = b"x" * 65536
    handed: list[int] = []
    sent: list[Message] = []

    async def receive() -> Message:
        handed.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": True}  # never ends

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/customers/new", "raw_path": b"/customers/new",
        "query_string": b"", "root_path": "", "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000), "app": app,
        "headers": [(b"host", b"testserver"),
                    (b"content-type", b"application/x-www-form-urlencoded")],
    }
    anyio.run(app, scope, receive, send)
    assert sent[0]["status"] == 413
    assert sum(handed) <= container.settings.max_form_body_bytes + len(chunk)


@pytest.mark.parametrize("path", [
    "/api/v1/customers/9223372036854775808",
    "/api/v1/customers/99999999999999999999999/contacts",
    "/api/v1/jobs/9223372036854775808",
    "/api/v1/jobs/-9223372036854775809",  # past 63 bits below zero: no digits-only segment
    "/api/v1/jobs/0",
    "/api/v1/integrations/zoho-crm/customers/-9223372036854775809",
    "/api/v1/customers/0",
    "/api/v1/customers/-3",
])
def test_ids_outside_63_bits_are_422(
    backend: str, client: TestClient, admin: Account, path: str
) -> None:
    login(client, admin)
    response = client.get(path)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


@pytest.mark.parametrize("where", ["query", "json", "+json", "form", "multipart"])
def test_nul_characters_are_422_on_both_databases(
    backend: str, client: TestClient, admin: Account, where: str
) -> None:
    login(client, admin)
    token = csrf_of(client.get("/").text)
    if where == "query":
        response = client.get("/api/v1/customers", params={"q": "ac\x00me"})
    elif where == "json":
        response = client.post("/api/v1/customers", json={"name": "Acme\x00 Ltd"},
                               headers={"x-csrf-token": token})
    elif where == "+json":  # FastAPI reads any application/...+json body as JSON
        response = client.post("/api/v1/customers", content=b'{"name": "Acme\\u0000"}',
                               headers={"x-csrf-token": token,
                                        "content-type": "application/merge-patch+json"})
    elif where == "form":
        response = client.post("/customers/new", data={"name": "Acme\x00", "csrf_token": token})
    else:  # the same form as multipart/form-data (a fetch() of FormData: the token as a
        # header), which carries the NUL as a raw byte
        boundary = "----AlixFormBoundaryX7q"
        parts = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            .encode() + value.encode() + b"\r\n"
            for name, value in (("csrf_token", token), ("name", "Acme\x00"),
                                ("currency", "CAD")))
        response = client.post(
            "/customers/new", content=parts + f"--{boundary}--\r\n".encode(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}",
                     "x-csrf-token": token})
    assert response.status_code == 422, response.text
    assert "NUL" in response.text
    listed = client.get("/api/v1/customers").json()["items"]
    assert listed == []


def test_a_422_body_matches_the_documented_error_schema(
    client: TestClient, admin: Account
) -> None:
    login(client, admin)
    token = csrf_of(client.get("/").text)
    response = client.post("/api/v1/customers", json={"name": 5},
                           headers={"x-csrf-token": token})
    assert response.status_code == 422
    schema = client.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/v1/customers"]["post"]
    documented = _resolve(schema, operation["responses"]["422"]["content"]
                          ["application/json"]["schema"])
    _conforms(schema, response.json(), documented)


def test_every_api_operation_documents_its_error_answers(
    client: TestClient, admin: Account
) -> None:
    login(client, admin)
    schema = client.get("/api/openapi.json").json()
    assert all(path.startswith("/api/") for path in schema["paths"]), list(schema["paths"])
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert {"401", "403", "413", "422"} <= codes, (method, path, codes)
            if "{" in path:
                assert "404" in codes, (method, path)
            if method in ("patch", "post", "put", "delete"):
                assert "409" in codes, (method, path)
    body = _resolve(schema, {"$ref": "#/components/schemas/Problem"})
    assert body["properties"]["detail"]["type"] == "string"


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _conforms(schema: dict[str, Any], value: Any, node: dict[str, Any]) -> None:
    """A small JSON-schema check, enough for the error model (objects, arrays, strings)."""
    node = _resolve(schema, node)
    if "anyOf" in node:
        errors = []
        for option in node["anyOf"]:
            try:
                _conforms(schema, value, option)
                return
            except AssertionError as exc:
                errors.append(exc)
        raise AssertionError(f"{value!r} matches none of {node['anyOf']}: {errors}")
    kind = node.get("type")
    if kind == "object":
        assert isinstance(value, dict), value
        for name in node.get("required", []):
            assert name in value, (name, value)
        for name, item in value.items():
            if name in node.get("properties", {}):
                _conforms(schema, item, node["properties"][name])
            elif isinstance(node.get("additionalProperties"), dict):
                _conforms(schema, item, node["additionalProperties"])
            else:
                assert node.get("additionalProperties", True) is not False, name
    elif kind == "array":
        assert isinstance(value, list), value
        for item in value:
            _conforms(schema, item, node.get("items", {}))
    elif kind == "string":
        assert isinstance(value, str), value
    elif kind == "integer":
        assert isinstance(value, int), value
    elif kind == "null":
        assert value is None
    elif kind == "boolean":
        assert isinstance(value, bool), value
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), value
    if "enum" in node and value is not None:
        assert value in node["enum"], (value, node["enum"])


_EDGE_IDS = [str(2**63), "0", "-1", "abc", "1"]
_EDGE_BODIES: list[Any] = [{}, [], {"name": "Acme\x00"}, {"name": 5}, {"name": "Acme"}]


def test_edge_inputs_on_every_api_operation_answer_as_documented(
    backend: str, client: TestClient, container: Container, admin: Account
) -> None:
    """A small, deterministic stand-in for a schemathesis run: every operation of the OpenAPI
    document gets ids past 63 bits, zero, negative and malformed, NUL in its strings and
    ill-typed bodies; no answer may be a 5xx, an undocumented status, or a body other than
    the documented one."""
    from alix.db.session import unit_of_work
    from alix.identity.service import create_api_token
    from alix.identity.tables import User

    with unit_of_work(container.session_factory) as session:
        user = session.get(User, admin.user_id)
        assert user is not None
        token = create_api_token(session, user, "fuzz")[1]
    headers = {"Authorization": f"Bearer {token}"}
    schema = client.get("/api/openapi.json", headers=headers).json()
    answered = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for case, url, query, body in _cases(path, operation):
                response = client.request(method.upper(), url, params=query, json=body,
                                          headers=headers)
                answered += 1
                where = f"{method.upper()} {url} {query} {body!r} ({case})"
                assert response.status_code < 500, where
                documented = operation["responses"].get(str(response.status_code))
                assert documented is not None, f"{where}: undocumented {response.status_code}"
                content = documented.get("content", {}).get("application/json")
                if content and response.status_code != 204:
                    _conforms(schema, response.json(), content["schema"])
    assert answered > 100


def _cases(path: str, operation: dict[str, Any]
           ) -> list[tuple[str, str, dict[str, str], Any]]:
    params = operation.get("parameters", [])
    queries = [p for p in params if p["in"] == "query"]
    has_body = "requestBody" in operation
    cases: list[tuple[str, str, dict[str, str], Any]] = []
    for ident in _EDGE_IDS:
        url = _fill(path, ident)
        cases.append((f"id {ident}", url, {}, {} if has_body else None))
        for q in queries:
            value = str(2**63) if q.get("schema", {}).get("type") == "integer" else "a\x00b"
            cases.append((f"query {q['name']}", url, {q["name"]: value}, None))
        if has_body:
            cases += [(f"body {b!r}", url, {}, b) for b in _EDGE_BODIES]
    return cases


def _fill(path: str, ident: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", ident, path)
