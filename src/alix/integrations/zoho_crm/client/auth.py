"""Request authentication: the shared access token, refreshed once under the store's lock."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Generator
from functools import lru_cache

import httpx

from alix.clock import Clock, utc_now

from .errors import ConfigurationError
from .oauth import ZohoAccounts
from .tokens import AccessToken, TokenStore

# The docs also spell it INVALID_OAUTHTOKEN (zoho-crm-api.md 2.3).
_EXPIRED_CODES = frozenset({"INVALID_TOKEN", "INVALID_OAUTHTOKEN"})


class ZohoAuth(httpx.Auth):
    """Signs requests with the connection's access token and points them at its api_domain.

    The token decides the host: Zoho binds tokens to a data centre and returns the API domain to
    use with the token (doc section 1), so requests are built with a path only. On a 401
    INVALID_TOKEN the token is refreshed once and the request retried once; a second 401 goes
    back to the caller.
    """

    requires_response_body = False

    def __init__(
        self,
        accounts: ZohoAccounts,
        *,
        refresh_token: str,
        store: TokenStore,
        connection_id: str,
        clock: Clock = utc_now,
    ) -> None:
        if not refresh_token:
            raise ConfigurationError(f"Zoho connection {connection_id} has no refresh token.")
        self._accounts = accounts
        self._refresh_token = refresh_token
        self._store = store
        self._connection_id = connection_id
        self._clock = clock
        # The token last used, kept while it has life left: reading the shared store on every
        # call cost a database round trip (in a worker thread) per request. A token another
        # process refreshed meanwhile does not make this one invalid (Zoho keeps up to 15 live
        # tokens, zoho-crm-api.md 2.3); a revoked one answers 401 and is refreshed below.
        self._token: AccessToken | None = None

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("The Zoho client is asynchronous; use httpx.AsyncClient.")
        yield request  # pragma: no cover - makes this a generator

    @property
    def origin(self) -> str | None:
        """The API domain of the token in hand (None before the first call): where the next
        request goes, unless its token is refreshed meanwhile."""
        return self._token.api_domain if self._token is not None else None

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.current_token()
        _sign(request, token)
        response = yield request
        if response.status_code != 401 or not await _token_rejected(response):
            return
        token = await self.refresh(stale=token)
        _sign(request, token)
        yield request

    async def current_token(self) -> AccessToken:
        """The token in hand or the stored one if it has life left, else a refreshed one."""
        now = self._clock()
        if self._token is not None and self._token.usable_at(now):
            return self._token
        token = await self._store.load(self._connection_id)
        if token is not None and token.usable_at(now):
            self._token = token
            return token
        return await self.refresh(stale=token)

    def forget(self) -> None:
        """Drop the token in hand (it was revoked): the next call reads the store."""
        self._token = None

    async def refresh(self, *, stale: AccessToken | None) -> AccessToken:
        """Replace `stale` unless another worker already did while we waited for the lock."""
        async with self._store.locked(self._connection_id) as slot:
            current = slot.current
            if current is not None and current != stale and current.usable_at(self._clock()):
                self._token = current
                return current
            fresh = await self._accounts.refresh(self._refresh_token)
            await slot.replace(fresh)
            self._token = fresh
            return fresh


@lru_cache(maxsize=16)
def _origin(api_domain: str) -> tuple[str, str, int | None]:
    domain = httpx.URL(api_domain)
    return domain.scheme, domain.host, domain.port


def _sign(request: httpx.Request, token: AccessToken) -> None:
    scheme, host, port = _origin(token.api_domain)
    url = request.url
    # Built for the domain already (ZohoSession asks `origin`): pointing it there again would
    # parse the whole URL anew, a read's 100 ids included (0.3 ms a call).
    if (url.scheme, url.host, url.port) != (scheme, host, port):
        request.url = url.copy_with(scheme=scheme, host=host, port=port)
        request.headers["Host"] = request.url.netloc.decode("ascii")
    request.headers["Authorization"] = f"Zoho-oauthtoken {token.value}"


async def _token_rejected(response: httpx.Response) -> bool:
    await response.aread()
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") in _EXPIRED_CODES
