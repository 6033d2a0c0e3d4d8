"""The one place requests reach Zoho: concurrency slot, retries, credits, error translation."""

from __future__ import annotations

import random as _random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import anyio
import httpx
import orjson

from alix.clock import Clock, utc_now

from .concurrency import LocalSlots, Slots
from .credits import CreditMeter
from .errors import (
    AuthenticationFailed,
    RateLimited,
    RequestRejected,
    SchemaMismatch,
    ScopeMissing,
    ServerError,
    TransportFailed,
    ZohoError,
    ZohoRetriable,
)
from .retry import RetryPolicy, asked_wait, credits_exhausted
from .written import written_extensions

Sleep = Callable[[float], Awaitable[None]]
Random = Callable[[], float]

# Codes meaning "the request names a field or module that is not there (any more)".
_SCHEMA_CODES = frozenset({"INVALID_MODULE"})
_SCHEMA_DETAIL_KEYS = ("api_name", "column_name", "field")

# Without a known edition, assume the smallest paid cap (Standard, doc 8.3).
EDITION_DEFAULT = 10


@dataclass(frozen=True)
class ApiResponse:
    """A Zoho answer the caller must interpret: status, decoded JSON (None for 204/304), headers."""

    status: int
    body: Any
    headers: Mapping[str, str]


class ZohoSession:
    """Sends requests with the connection's auth, within the concurrency cap, retrying 429/5xx."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        slots: Slots | None = None,
        retry: RetryPolicy | None = None,
        credits: CreditMeter | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = anyio.sleep,
        random: Random = _random.random,
        origin: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._http = http
        self._origin = origin
        self.slots = slots or LocalSlots(EDITION_DEFAULT)
        self.retry = retry or RetryPolicy()
        self.credits = credits or CreditMeter()
        self._clock = clock
        self._sleep = sleep
        self._random = random

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        cost: int = 1,
        idempotent: bool = True,
        accept_error_data: bool = False,
    ) -> ApiResponse:
        """Send one logical call; `accept_error_data` returns 4xx bodies with per-record data."""
        request = self._http.build_request(
            method, self._url(path, params), json=json_body, headers=headers,
            extensions=written_extensions(),
        )
        async with self._attempts(request, operation, cost, idempotent) as response:
            await response.aread()
        body = _decode(response)
        if response.status_code < 300 or response.status_code == 304:
            return ApiResponse(response.status_code, body, response.headers)
        if accept_error_data and isinstance(body, dict) and isinstance(body.get("data"), list):
            return ApiResponse(response.status_code, body, response.headers)
        raise _rejection(response.status_code, body, f"{method} {path}")

    def _url(self, path: str, params: Mapping[str, str] | None) -> str:
        """The request's whole URL when the token's domain is known (else its path, which
        ZohoAuth points there), its query written here: httpx would parse the URL once per
        step (parameters, base URL, the domain), each time escaping a read's 2 KB of ids
        character by character. Commas stay as they are: Zoho's lists of ids and fields are
        comma-separated, and an escaped comma only made the query three times longer."""
        origin = self._origin()
        url = f"{origin}{path}" if origin else path
        return f"{url}?{urlencode(params, safe=',', quote_via=quote)}" if params else url

    @asynccontextmanager
    async def stream(self, path: str, *, operation: str) -> AsyncIterator[httpx.Response]:
        """GET `path` and yield the response unread, for downloads too big for memory."""
        request = self._http.build_request("GET", path)
        async with self._attempts(request, operation, 1, True) as response:
            if response.status_code >= 300:
                await response.aread()
                raise _rejection(response.status_code, _decode(response), f"GET {path}")
            yield response

    @asynccontextmanager
    async def _attempts(
        self, request: httpx.Request, operation: str, cost: int, idempotent: bool
    ) -> AsyncIterator[httpx.Response]:
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            failure: ZohoRetriable | None = None
            refused: httpx.Headers | None = None  # a refusal's headers may say how long to wait
            async with self.slots.slot():
                try:
                    response = await self._http.send(request, stream=True)
                except httpx.TransportError as exc:
                    failure = TransportFailed(
                        f"{operation}: {request.method} {request.url.path} failed in transit: "
                        f"{exc!r}."
                    )
                    # A write that may have reached Zoho is not resent (doc 9.5: no idempotency
                    # key); a refused connection never left us.
                    if not idempotent and not isinstance(exc, httpx.ConnectError):
                        raise failure from exc
                except ZohoRetriable as exc:  # the token endpoint throttled or failed
                    failure = exc
                if failure is None:
                    status = response.status_code
                    if status == 429 or (status >= 500 and idempotent):
                        await response.aread()
                        await response.aclose()
                        failure = _rejection_retriable(status, _decode(response), operation)
                        refused = response.headers
                    else:
                        try:
                            self.credits.record(operation, cost, response.headers)
                            yield response
                        except httpx.HTTPError as exc:
                            raise TransportFailed(
                                f"{operation}: reading Zoho's answer failed: {exc!r}."
                            ) from exc
                        finally:
                            await response.aclose()
                        return
            await self._back_off(failure, refused, attempt, started)

    async def _back_off(
        self,
        failure: ZohoRetriable,
        headers: httpx.Headers | None,
        attempt: int,
        started: datetime,
    ) -> None:
        """Sleep before the next attempt, as long as Zoho asks; or raise, saying when to retry."""
        now = self._clock()
        elapsed = (now - started).total_seconds()
        if headers is not None and isinstance(failure, RateLimited) and credits_exhausted(headers):
            raise type(failure)(
                f"{failure.message} Zoho reports no API credits left for the org "
                "(X-API-CREDITS-REMAINING: 0); they return as the rolling 24 h window moves on, "
                "so the call was not retried.",
                code=failure.code,
                details=failure.details,
            ) from failure
        asked = asked_wait(headers, now) if headers is not None else None
        wait = self.retry.wait(attempt, self._random(), asked)
        if self.retry.allows(attempt, elapsed, wait):
            await self._sleep(wait)
            return
        retry_at = now + timedelta(seconds=wait)
        attempts = f"{attempt} attempt{'s' if attempt > 1 else ''}"
        reason = "" if asked is None else (
            f" Zoho asked to wait {asked.seconds:g} s ({asked.header}); "
            f"the retry budget is {self.retry.budget:g} s."
        )
        raise type(failure)(
            f"{failure.message} Gave up after {attempts} over {elapsed:.1f} s.{reason} "
            f"Retry after {retry_at.isoformat()}.",
            code=failure.code,
            details=failure.details,
            retry_at=retry_at,
        ) from failure


def _decode(response: httpx.Response) -> Any:
    """The JSON body; None for 204/304 and for error pages that are not JSON (the status tells)."""
    if response.status_code in (204, 304) or not response.content:
        return None
    try:
        # orjson reads a 200-record page in half json's time. It reads an integer beyond 64
        # bits as a float, where json keeps it exact; Zoho's JSON numbers are doubles
        # (zoho-crm-api.md 5.2) and its ids strings. Its errors are ValueErrors, as json's.
        return orjson.loads(response.content)
    except ValueError as exc:
        if response.status_code >= 300:
            return None
        raise ServerError(
            f"Zoho answered {response.request.method} {response.url.path} with HTTP "
            f"{response.status_code} and a body that is not JSON: {response.content[:80]!r}."
        ) from exc


def _rejection_retriable(status: int, body: Any, operation: str) -> ZohoRetriable:
    code, message, details = _envelope(body)
    text = f"Zoho answered HTTP {status} {code or ''} to {operation}: {message or 'no message'}."
    if status == 429:
        return RateLimited(text, code=code or "TOO_MANY_REQUESTS", details=details)
    return ServerError(text, code=code, details=details)


def _rejection(status: int, body: Any, what: str) -> ZohoError:
    code, message, details = _envelope(body)
    if status == 429 or status >= 500:
        return _rejection_retriable(status, body, what)
    text = f"Zoho refused {what} with HTTP {status} {code or ''}: {message or 'no message'}."
    if code in ("OAUTH_SCOPE_MISMATCH", "NO_PERMISSION"):
        return ScopeMissing(text, code=code, details=details)
    if status == 401:
        return AuthenticationFailed(text, code=code, details=details)
    if code in _SCHEMA_CODES or (
        code in ("INVALID_DATA", "INVALID_QUERY")
        and any(key in details for key in _SCHEMA_DETAIL_KEYS)
    ):
        return SchemaMismatch(text, code=code, details=details, status=status)
    return RequestRejected(text, code=code, details=details, status=status)


def _envelope(body: Any) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(body, dict):
        return "", "", {}
    details = body.get("details")
    return (
        str(body.get("code") or ""),
        str(body.get("message") or ""),
        details if isinstance(details, dict) else {},
    )
