"""What every CRM API call goes through: version, token, scope, faults, limits and stats."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .errors import (
    ZohoError,
    authentication_failure,
    invalid_module,
    invalid_token,
    invalid_url,
    scope_mismatch,
)
from .oauth import AccessToken
from .orgs import Org, User
from .responses import error_response
from .schema import Module
from .scopes import Need, allowed, module_allowed
from .state import EmulatorState

# Calls Zoho counts against the sub-concurrency limit (doc 8.3, open question 10): list calls
# with `cvid` or `sort_by`, search, COQL, and writes of more than ten records.
HEAVY_PATH_ENDINGS = ("/search", "/coql")
HEAVY_LIST_PARAMS = ("cvid", "sort_by")
HEAVY_WRITE_RECORDS = 10
WRITE_METHODS = ("POST", "PUT", "PATCH")

VERSIONS = ("v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8")
FAULT_CODES = {500: ("INTERNAL_ERROR", "Internal Server Error"),
               502: ("INTERNAL_ERROR", "Bad Gateway"),
               503: ("INTERNAL_ERROR", "Service Unavailable"),
               429: ("TOO_MANY_REQUESTS", "You have exceeded the concurrency limit."),
               401: ("INVALID_TOKEN", "invalid oauth token"),
               400: ("INVALID_DATA", "invalid data")}


@dataclass
class ApiCall:
    """One authenticated API request, handed to endpoint handlers."""

    request: Request
    state: EmulatorState
    token: AccessToken
    org: Org
    user: User
    version: str
    headers: dict[str, str] = field(default_factory=dict)
    charged: bool = False
    heavy: bool = False

    @property
    def fields_required(self) -> bool:
        # `fields` became mandatory on list calls in v3 (section 4.1).
        return self.version not in ("v2", "v2.1")

    def module(self, name: str, index: int = 0) -> Module:
        module = self.org.modules.get(name)
        if module is None or not module.api_supported:
            raise invalid_module(index)
        return module

    def require_module(self, module: Module, op: str) -> None:
        if not module_allowed(self.token.scopes, module.scope_name,
                              module.generated_type == "custom", op):
            raise scope_mismatch()

    def require(self, *needs: Need) -> None:
        if not allowed(self.token.scopes, needs):
            raise scope_mismatch()

    def enter_heavy(self) -> None:
        """Take a sub-concurrency slot for the rest of the call (429 when none is free)."""
        if not self.heavy:
            self.state.limits.enter_heavy(self.org, self.state.config.sub_concurrency)
            self.heavy = True

    def charge(self, credits: int = 1) -> None:
        remaining = self.state.limits.ledger(self.org.id).charge(
            self.org, credits, self.state.clock.time())
        self.charged = True
        shown = self.state.limits.header(self.org, remaining)
        if shown is not None:
            self.headers["X-API-CREDITS-REMAINING"] = shown

    async def json(self) -> Any:
        """The body as JSON whatever the Content-Type says (Zoho does not insist)."""
        raw = await self.request.body()
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            raise ZohoError(400, "INVALID_DATA", "the json body is invalid",
                            {"expected_data_type": "jsonobject"}) from None
        if (self.request.method in WRITE_METHODS and isinstance(body, dict)
                and isinstance(body.get("data"), list)
                and len(body["data"]) > HEAVY_WRITE_RECORDS):
            self.enter_heavy()
        return body


Handler = Callable[[ApiCall], Awaitable[Response]]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    # The SDK sends Zoho-oauthtoken; Singer's tap sends Bearer and it works (section 2.5).
    if scheme.lower() in ("zoho-oauthtoken", "bearer") and value.strip():
        return value.strip()
    return None


def _heavy_request(request: Request) -> bool:
    if request.url.path.endswith(HEAVY_PATH_ENDINGS):
        return True
    return request.method == "GET" and any(p in request.query_params for p in HEAVY_LIST_PARAMS)


def api(state: EmulatorState, label: str, handler: Handler) -> Callable[[Request],
                                                                        Awaitable[Response]]:
    """Wrap a handler: count it, authenticate, inject faults, apply limits, render errors."""

    async def endpoint(request: Request) -> Response:
        state.calls[f"{request.method} {label}"] += 1
        try:
            version = request.path_params.get("version", "v8")
            if version not in VERSIONS:
                raise invalid_url()
            raw = _bearer(request)
            if raw is None:
                raise authentication_failure()
            token = state.tokens.lookup(raw)
            if token is None or token.org_id not in state.orgs:
                raise invalid_token()
            org = state.orgs[token.org_id]
            call = ApiCall(request, state, token, org, org.users[token.user_id], version)
        except ZohoError as error:
            return error_response(error)
        try:
            state.limits.enter(org)
        except ZohoError as error:
            return error_response(error)
        try:
            try:
                if _heavy_request(request):
                    call.enter_heavy()
                status = state.faults.pick_error()
                if status is not None:
                    code, message = FAULT_CODES.get(status, ("INTERNAL_ERROR", "injected fault"))
                    raise ZohoError(status, code, message)
                response = await handler(call)
                if not call.charged and response.status_code < 400:
                    call.charge(1)
            except ZohoError as error:
                response = error_response(error)
            response.headers.update(call.headers)
            # Latency is spent after the work, with the call's slots still held, so that it
            # also stretches the time a heavy write occupies its sub-concurrency slot.
            if state.faults.latency_ms:
                await asyncio.sleep(state.faults.latency_ms / 1000)
            return response
        finally:
            if call.heavy:
                state.limits.leave_heavy(org)
            state.limits.leave(org)

    return endpoint
