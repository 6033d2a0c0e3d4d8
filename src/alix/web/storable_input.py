"""Refusing at the edge, with 422, input the databases cannot hold: ids past 63 bits and NUL.

Every id in ALIX is a positive 63-bit integer (BIGINT on PostgreSQL, INTEGER on SQLite):
a larger one raises OverflowError in the SQLite driver and "out of range" on PostgreSQL, a
500 either way. PostgreSQL text cannot hold the NUL character at all. This middleware looks at
the raw request once, before routing, so every route, including those added later, is covered:
- a path segment of digits past 2^63 - 1 (path parameters are ids; Zoho's ids are 64-bit
  signed too), and a query parameter named `id` or `*_id` likewise;
- a NUL in the path, the query string, or a JSON, urlencoded or multipart form body (in
  multipart, the fields' names and values: an uploaded file's content is the route's to judge).
Typed parameters (`alix.web.ids`) still refuse zero and negative ids per route.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from alix.web.body_limits import read_body, replaying
from alix.web.ids import MAX_ID

# A JSON \u0000 escape: preceded by an even number of backslashes (an odd one escapes it).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_FORM_NUL = re.compile(rb"%00")
_BOUNDARY = re.compile(rb'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
NUL_MESSAGE = "The request contains a NUL character (\\u0000), which ALIX cannot store."


def _id_too_large(text: str) -> bool:
    return text.isdigit() and int(text) > MAX_ID


def problem_in_url(path: str, query: bytes) -> str | None:
    """Why the path or query cannot be served, or None (pure)."""
    if "\x00" in path or b"%00" in query.lower():
        return NUL_MESSAGE
    for segment in path.split("/"):
        if _id_too_large(segment):
            return f"{segment} is not an id: ids are whole numbers from 1 to {MAX_ID}."
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if (name == "id" or name.endswith("_id")) and _id_too_large(value.strip()):
            return f"{name}={value} is not an id: ids are whole numbers from 1 to {MAX_ID}."
    return None


def _is_json(content_type: bytes) -> bool:
    # FastAPI parses application/json and every application/...+json as JSON.
    media = content_type.split(b";")[0].strip()
    return media == b"application/json" or (media.startswith(b"application/")
                                             and media.endswith(b"+json"))


def _is_form(content_type: bytes) -> bool:
    return content_type.startswith(b"application/x-www-form-urlencoded")


def _is_multipart(content_type: bytes) -> bool:
    # FastAPI's Form() parameters read multipart/form-data as well as urlencoded forms.
    return content_type.startswith(b"multipart/form-data")


def _boundary(content_type: bytes) -> bytes | None:
    found = _BOUNDARY.search(content_type)
    return found.group(1) or found.group(2) if found else None


def _multipart_has_nul(content_type: bytes, body: bytes) -> bool:
    """A NUL byte in a multipart part that is not a file (its headers or its value)."""
    boundary = _boundary(content_type)
    if boundary is None:
        return b"\x00" in body  # unparseable: the form parser refuses it anyway
    for part in body.split(b"--" + boundary):
        head, _, value = part.partition(b"\r\n\r\n")
        if b"\x00" in head or (b"filename" not in head.lower() and b"\x00" in value):
            return True
    return False


def body_has_nul(content_type: bytes, body: bytes) -> bool:
    """True when a JSON, urlencoded or multipart form body holds a NUL character (pure).
    `content_type` as sent: a multipart boundary is case-sensitive."""
    if _is_multipart(content_type.lower()):
        return _multipart_has_nul(content_type, body)
    content_type = content_type.lower()
    if b"\x00" in body:
        return True
    if _is_json(content_type):
        # The escape's own bytes first, a scan at memchr speed: the pattern, tried at every
        # position of the body, was a third of a Zoho callback's time in the web process
        # (bench/live.py). JSON's escape is a lowercase \u, its digits have no case.
        return b"\\u0000" in body and _JSON_NUL.search(body) is not None
    if _is_form(content_type):
        return _FORM_NUL.search(body) is not None
    return False


def refused(path: str, message: str) -> Response:
    if path.startswith("/api/") or path.startswith("/integrations/zoho-crm/notifications/"):
        return JSONResponse({"detail": message, "errors": {}}, status_code=422)
    return PlainTextResponse(message, status_code=422)


def _header(scope: Scope, wanted: bytes) -> bytes:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return bytes(value)
    return b""


class StorableInput:
    """ASGI middleware answering 422 for ids past 63 bits and for NUL characters."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = problem_in_url(scope["path"], scope.get("query_string", b""))
        if problem is not None:
            await refused(scope["path"], problem)(scope, receive, send)
            return
        sent_type = _header(scope, b"content-type")
        content_type = sent_type.lower()
        if not (_is_json(content_type) or _is_form(content_type)
                or _is_multipart(content_type)):
            await self.app(scope, receive, send)
            return
        # Bounded by alix.web.body_limits (the middleware outside this one).
        body = await read_body(receive)
        if body_has_nul(sent_type, body):
            await refused(scope["path"], NUL_MESSAGE)(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)
