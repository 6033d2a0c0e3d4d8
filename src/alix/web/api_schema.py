"""The OpenAPI document of /api: only API operations, each with every error it can answer.

ALIX answers every API error with one body, `Problem` below: `detail` a sentence for people,
`errors` the messages per field (422 only; "" names the request as a whole). FastAPI's default
document describes its own validation body instead, which ALIX never sends; this replaces it.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

API_PREFIX = "/api/"
UNSAFE = frozenset({"post", "put", "patch", "delete"})

PROBLEM: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, as a sentence."},
        "errors": {
            "type": "object",
            "description": "Messages per field (422); the key \"\" is the request as a whole.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}

_WHY = {
    "401": "Not logged in, or the API token is missing, wrong or revoked.",
    "403": "Not allowed: an administrator's operation, or a cookie request without CSRF token.",
    "404": "No such row (or no such connection) in the caller's organisation.",
    "409": "The row changed meanwhile (a stale `version`) or the change contradicts its state.",
    "413": "The request body is larger than the API accepts.",
    "422": "The input was refused; `errors` says why per field.",
}
_DROPPED = ("HTTPValidationError", "ValidationError")


def error_statuses(method: str) -> list[str]:
    """The error statuses an operation can answer (pure)."""
    # 404 also without path parameters: an operation on the organisation's connection, say,
    # answers 404 while there is none.
    codes = ["401", "403", "404", "413", "422"]
    if method in UNSAFE:
        codes.append("409")
    return sorted(codes)


def honest(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's document restricted to /api, with the real error body declared (pure)."""
    paths = {p: item for p, item in document.get("paths", {}).items()
             if p.startswith(API_PREFIX)}
    problem = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for item in paths.values():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for code in error_statuses(method):
                responses[code] = {"description": _WHY[code], "content": problem}
    schemas = {name: schema
               for name, schema in document.get("components", {}).get("schemas", {}).items()
               if name not in _DROPPED}
    schemas["Problem"] = PROBLEM
    return {**document, "paths": paths,
            "components": {**document.get("components", {}), "schemas": schemas}}


def install_api_schema(app: FastAPI) -> None:
    """Serve honest() at the app's openapi_url, built once on first request."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = honest(get_openapi(
                title=app.title, version=app.version, routes=app.routes,
                description=app.description))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
