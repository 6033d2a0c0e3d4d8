"""Bounded request bodies: a size limit per kind of route, enforced before anyone reads them.

The declared Content-Length is checked first (a 96 MB POST is refused without reading a byte);
a body sent without one (chunked) is counted as it streams and cut off at the limit. The
answer past the limit is 413 with a sentence saying the limit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alix.settings import Settings

NOTIFICATIONS_PREFIX = "/integrations/zoho-crm/notifications/"


class BodyKind(enum.StrEnum):
    FORM = "form"
    API = "api"
    NOTIFICATION = "notification"


def body_kind(path: str) -> BodyKind:
    """Which limit a path's bodies fall under (pure)."""
    if path.startswith(NOTIFICATIONS_PREFIX):
        return BodyKind.NOTIFICATION
    if path.startswith("/api/"):
        return BodyKind.API
    return BodyKind.FORM


@dataclass(frozen=True)
class BodyLimits:
    """The largest body, in bytes, each kind of route accepts."""

    form: int
    api: int
    notification: int

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyLimits:
        return cls(settings.max_form_body_bytes, settings.max_api_body_bytes,
                   settings.max_notification_body_bytes)

    def for_path(self, path: str) -> int:
        return {BodyKind.FORM: self.form, BodyKind.API: self.api,
                BodyKind.NOTIFICATION: self.notification}[body_kind(path)]


class BodyTooLarge(HTTPException):
    """Raised from the bounded receive() once a streamed body passes its limit.

    An HTTPException, so that FastAPI's body parsing lets it through as a 413 instead of
    turning it into "400 error parsing the body".
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


async def read_body(receive: Receive) -> bytes:
    """The whole request body, in chunks joined once (linear in its size). Bounded when
    `receive` is this module's: at most the route's limit is read."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body a middleware already read, then the rest of
    the connection's messages (a disconnect)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def declared_length(scope: Scope) -> int | None:
    """The Content-Length header as a number; -1 when present but not a number."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else -1
    return None


def too_large_message(limit: int) -> str:
    return (f"The request body is too large: this address accepts at most {limit} bytes "
            f"({limit // 1024} KiB).")


def too_large(path: str, limit: int) -> Response:
    message = too_large_message(limit)
    if body_kind(path) is BodyKind.FORM:
        return PlainTextResponse(message, status_code=413)
    return JSONResponse({"detail": message}, status_code=413)


class BoundedBodies:
    """ASGI middleware refusing bodies past their route kind's limit with 413."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope["path"])
        declared = declared_length(scope)
        if declared is not None and not 0 <= declared <= limit:
            await too_large(scope["path"], limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await too_large(scope["path"], limit)(scope, receive, send)
