"""Who is calling: session cookie or bearer token, the gate in front of every route, CSRF."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs

import anyio
from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from alix.clock import Clock, utc_now
from alix.identity import sessions
from alix.identity.service import user_for_token
from alix.identity.tables import Role, User
from alix.web.body_limits import read_body, replaying
from alix.web.public import is_csrf_exempt, is_public

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# The cookie's key holding the server-side session's secret (alix.identity.sessions).
SESSION_KEY = "sid"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user of one organisation, by session or by API token."""

    user_id: int
    organisation_id: int
    email: str
    name: str
    role: Role
    via_token: bool

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def _principal(user: User, via_token: bool) -> Principal:
    return Principal(user.id, user.organisation_id, user.email, user.name, user.role, via_token)


def _resolve(gate: AuthGate, secret: Any, bearer: str | None) -> Principal | None:
    with gate.factory.begin() as session:
        if bearer is not None:
            user = user_for_token(session, bearer)
            return None if user is None else _principal(user, True)
        # The cookie only names a server-side session: one ended at logout (or by a password
        # change) resolves to nobody, however validly signed the cookie is.
        user_id = sessions.user_of(session, secret, gate.clock(), gate.max_age)
        if user_id is not None:
            user = session.get(User, user_id)
            if user is not None and user.is_active and not user.is_system:
                return _principal(user, False)
    return None


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def _wants_json(scope: Scope) -> bool:
    if scope["path"].startswith("/api/"):
        return True
    for name, value in scope.get("headers", []):
        if name == b"accept":
            return b"application/json" in value and b"text/html" not in value
    return False


class AuthGate:
    """Resolves the principal and refuses anonymous access outside `alix.web.public`."""

    def __init__(
        self,
        app: ASGIApp,
        session_factory: sessionmaker[Session],
        clock: Clock = utc_now,
        max_age: timedelta = timedelta(days=14),
    ) -> None:
        self.app = app
        self.factory = session_factory
        self.clock = clock
        self.max_age = max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bearer = _bearer(scope)
        secret = scope.get("session", {}).get(SESSION_KEY)
        principal = None
        if bearer is not None or secret is not None:
            principal = await anyio.to_thread.run_sync(_resolve, self, secret, bearer)
        scope.setdefault("state", {})["principal"] = principal
        if principal is None and not is_public(scope["path"]):
            if bearer is not None or _wants_json(scope):
                response: Any = JSONResponse(
                    {"detail": "Authentication required: log in or send a valid API token."},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            else:
                response = RedirectResponse(f"/login?next={scope['path']}", status_code=303)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


class CsrfGuard:
    """Refuses unsafe cookie-authenticated requests without the session's CSRF token.

    The token comes as the `csrf_token` field of a urlencoded form or the X-CSRF-Token
    header (for fetch() calls). Bearer-token API calls carry no cookie and need none.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or _bearer(scope) is not None
            or is_csrf_exempt(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        expected = scope.get("session", {}).get("csrf")
        headers = dict(scope.get("headers", []))
        given = headers.get(CSRF_HEADER.encode(), b"").decode("latin-1")
        # The receive() here is bounded by alix.web.body_limits: at most the form limit is read,
        # in chunks joined once (linear in the size).
        body = await read_body(receive)
        if not given and headers.get(b"content-type", b"").startswith(
            b"application/x-www-form-urlencoded"
        ):
            given = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD, [""])[0]
        if not isinstance(expected, str) or not given or not hmac.compare_digest(expected, given):
            response = PlainTextResponse(
                "This form has expired or did not come from ALIX (CSRF check failed). "
                "Reload the page and try again.",
                status_code=403,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)


def get_principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        raise HTTPException(status_code=401, detail="Authentication required.")
    return principal


def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise HTTPException(status_code=403, detail="Only an administrator may do this.")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
CurrentAdmin = Annotated[Principal, Depends(get_admin)]
