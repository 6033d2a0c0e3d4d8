"""A scripted Zoho behind httpx.MockTransport, for quirks pinned down request by request."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from alix.clock import FrozenClock
from alix.integrations.zoho_crm.client import (
    InMemoryTokenStore,
    RetryPolicy,
    TokenStore,
    ZohoCrmClient,
)

ACCOUNTS = "https://accounts.zoho.eu"
API = "https://www.zohoapis.eu"
START = datetime(2026, 5, 14, 9, 0, tzinfo=UTC)
ZONE = timezone(timedelta(hours=3))  # the API user's CRM time zone, as Zoho renders times


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def _error(status: int, code: str, message: str = "", **details: Any) -> httpx.Response:
    body = {"code": code, "details": details, "message": message or code.lower(), "status": "error"}
    return _json(status, body)


@dataclass
class MockZoho:
    """Zoho accounts plus a list endpoint over generated Accounts, with knobs for quirks."""

    records: list[dict[str, Any]] = field(default_factory=list)
    page_token_cap: int = 100_000
    page_window: int = 2000
    valid_tokens: set[str] = field(default_factory=set)
    minted: int = 0
    requests: list[httpx.Request] = field(default_factory=list)
    # Statuses answered (in order) before normal service; "429" etc.
    faults: list[int] = field(default_factory=list)
    expire_tokens_after_calls: int | None = None
    api_calls: int = 0
    handler_override: Callable[[httpx.Request], httpx.Response | None] | None = None
    api_domain: str = API  # what each new token names

    def seed(self, count: int, *, same_second_every: int = 1, fields: int = 5) -> None:
        """`count` Accounts; every `same_second_every` consecutive records share a second."""
        self.records = []
        for n in range(count):
            when = (START + timedelta(seconds=n // same_second_every)).astimezone(ZONE)
            row = {"id": str(5725767000004100001 + n), "Modified_Time": when.isoformat()}
            for f in range(fields):
                row[f"Field_{f}"] = f"value {n}/{f}"
            row["Account_Name"] = f"Account {n}"
            self.records.append(row)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.startswith("/oauth/v2/token"):
            return self._token(request)
        if self.handler_override is not None:
            answer = self.handler_override(request)
            if answer is not None:
                return answer
        if self.faults:
            status = self.faults.pop(0)
            code = "TOO_MANY_REQUESTS" if status == 429 else "INTERNAL_ERROR"
            return _error(status, code)
        token = request.headers.get("Authorization", "").removeprefix("Zoho-oauthtoken ")
        if token not in self.valid_tokens:
            return _error(401, "INVALID_TOKEN", "invalid oauth token")
        self.api_calls += 1
        if self.expire_tokens_after_calls and self.api_calls % self.expire_tokens_after_calls == 0:
            self.valid_tokens.clear()  # the next call finds its token expired
        if request.method == "GET" and request.url.path == "/crm/v8/Accounts":
            return self._list(request)
        return _error(404, "INVALID_URL_PATTERN")

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        if request.url.path.endswith("/revoke"):
            return _json(200, {"status": "success"})
        if form.get("refresh_token") != ["refresh-1"] and "code" not in form:
            return _json(200, {"error": "invalid_code"})
        self.minted += 1
        token = f"access-{self.minted}"
        self.valid_tokens.add(token)
        body = {
            "access_token": token,
            "api_domain": self.api_domain,
            "token_type": "Bearer",
            "expires_in": 3600,
        }
        if "code" in form:
            body["refresh_token"] = "refresh-1"
        return _json(200, body)

    def _list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        fields = params.get("fields", "")
        if not fields:
            return _error(400, "REQUIRED_PARAM_MISSING", param_name="fields")
        names = fields.split(",")
        if len(names) > 50:
            return _error(400, "LIMIT_EXCEEDED", "Fields limit exceeded")
        rows = self.records
        since = request.headers.get("If-Modified-Since")
        if since:
            floor = datetime.fromisoformat(since)
            rows = [r for r in rows if datetime.fromisoformat(r["Modified_Time"]) >= floor]
        rows = sorted(rows, key=lambda r: (datetime.fromisoformat(r["Modified_Time"]), r["id"]))
        if "ids" in params:
            wanted = set(params["ids"].split(","))
            rows = [r for r in rows if r["id"] in wanted]
        per_page = int(params.get("per_page", "200"))
        if "page_token" in params:
            query, offset = json.loads(params["page_token"])
            if query != [fields, since]:
                return _error(400, "TOKEN_BOUND_DATA_MISMATCH")
            if offset >= self.page_token_cap:
                return _error(400, "PAGINATION_LIMIT_EXCEEDED", "pagination limit exceeded")
        else:
            page = int(params.get("page", "1"))
            offset = (page - 1) * per_page
            if page * per_page > self.page_window:
                return _error(400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED")
        window = rows[offset : offset + per_page]
        if not window:
            return httpx.Response(304 if since else 204)
        more = offset + per_page < len(rows)
        info = {
            "per_page": per_page,
            "count": len(window),
            "more_records": more,
            "next_page_token": json.dumps([[fields, since], offset + per_page]) if more else None,
        }
        data = [{"id": r["id"], **{n: r.get(n) for n in names}} for r in window]
        return _json(200, {"data": data, "info": info})


@dataclass
class Harness:
    """A client over a MockZoho, with a frozen clock and recorded sleeps."""

    zoho: MockZoho
    clock: FrozenClock
    sleeps: list[float]
    store: TokenStore

    def client(self, **options: Any) -> ZohoCrmClient:
        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            self.clock.advance(seconds)

        options.setdefault("retry", RetryPolicy(max_attempts=5, base_delay=0.5, budget=30))
        options.setdefault("refresh_token", "refresh-1")
        return ZohoCrmClient.connect(
            client_id="client-1",
            client_secret="secret-1",
            connection_id="conn-1",
            store=self.store,
            location="eu",
            transport=self.zoho.transport(),
            clock=self.clock,
            sleep=sleep,
            random=random.Random(7).random,
            **options,
        )


@pytest.fixture
def harness() -> Harness:
    return Harness(MockZoho(), FrozenClock(START), [], InMemoryTokenStore())
