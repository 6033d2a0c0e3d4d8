"""Zoho Accounts: the consent URL, code exchange, refresh grant and revocation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from alix.clock import Clock, utc_now

from .datacentres import accounts_server
from .errors import (
    AuthenticationFailed,
    ConfigurationError,
    RateLimited,
    ServerError,
    TransportFailed,
)
from .tls import shared_ssl_context
from .tokens import AccessToken

# Exactly what the integration calls (zoho-crm-api.md 2.7): records, metadata incl. layouts and
# currencies, users and org, notification channels, bulk read, COQL, and search / record count
# (ZohoSearch.securesearch.READ is still listed for v8 search and count, doc 11.1).
SCOPES: tuple[str, ...] = (
    "ZohoCRM.modules.ALL",
    "ZohoCRM.settings.ALL",
    "ZohoCRM.users.READ",
    "ZohoCRM.org.READ",
    "ZohoCRM.notifications.ALL",
    "ZohoCRM.bulk.READ",
    "ZohoCRM.coql.READ",
    "ZohoSearch.securesearch.READ",
)


@dataclass(frozen=True)
class Grant:
    """What a code exchange yields: the long-lived refresh token and a first access token."""

    refresh_token: str
    access: AccessToken
    scopes: tuple[str, ...]
    accounts_url: str


class ZohoAccounts:
    """Talks to one trusted Zoho accounts server on behalf of one OAuth client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        client_id: str,
        client_secret: str,
        location: str | None = None,
        accounts_url: str | None = None,
        override_url: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigurationError("A Zoho client id and client secret are required.")
        self._http = http
        self._client_id = client_id
        self._client_secret = client_secret
        self._override = override_url
        self._clock = clock
        self.accounts_url = accounts_server(
            location=location, named=accounts_url, override=override_url
        )
        self.refreshes = 0

    def authorization_url(
        self, *, redirect_uri: str, state: str, scopes: Sequence[str] = SCOPES
    ) -> str:
        """The consent URL: offline access (a refresh token) and a forced consent screen."""
        query = {
            "client_id": self._client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": ",".join(scopes),
            "access_type": "offline",
            # Without prompt=consent Zoho hands out a refresh token only on the first consent.
            "prompt": "consent",
            "state": state,
        }
        return f"{self.accounts_url}/oauth/v2/auth?{urlencode(query)}"

    async def exchange_code(
        self,
        code: str,
        *,
        redirect_uri: str | None = None,
        accounts_server_named: str | None = None,
    ) -> Grant:
        """Exchange a grant code at the accounts server the redirect named, if we trust it."""
        server = (
            accounts_server(named=accounts_server_named, override=self._override)
            if accounts_server_named
            else self.accounts_url
        )
        form = {
            "grant_type": "authorization_code",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "code": code,
        }
        if redirect_uri:
            form["redirect_uri"] = redirect_uri
        body = await self._post(f"{server}/oauth/v2/token", form, what="exchange the code")
        refresh = body.get("refresh_token")
        if not refresh:
            raise AuthenticationFailed(
                "Zoho returned no refresh token; consent must be given with access_type=offline."
            )
        scope = str(body.get("scope") or "")
        return Grant(
            refresh_token=str(refresh),
            access=self._access_token(body),
            scopes=tuple(s for s in scope.replace(",", " ").split() if s),
            accounts_url=server,
        )

    async def refresh(self, refresh_token: str) -> AccessToken:
        """Mint a new access token; callers serialise this through the TokenStore lock."""
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "refresh_token": refresh_token,
        }
        self.refreshes += 1
        body = await self._post(
            f"{self.accounts_url}/oauth/v2/token", form, what="refresh the access token"
        )
        return self._access_token(body)

    async def revoke(self, refresh_token: str) -> None:
        """Revoke the refresh token and, with it, every access token minted from it."""
        url = f"{self.accounts_url}/oauth/v2/token/revoke"
        try:
            response = await self._http.post(url, data={"token": refresh_token})
        except httpx.TransportError as exc:
            raise TransportFailed(f"Could not reach {url} to revoke the token: {exc}.") from exc
        body = _json(response)
        if response.status_code >= 400 or body.get("status") not in (None, "success"):
            raise AuthenticationFailed(
                f"Zoho refused to revoke the refresh token (HTTP {response.status_code}): "
                f"{body.get('error') or body.get('status') or 'no reason given'}."
            )

    async def _post(self, url: str, form: Mapping[str, str], *, what: str) -> dict[str, Any]:
        try:
            response = await self._http.post(url, data=dict(form))
        except httpx.TransportError as exc:
            raise TransportFailed(f"Could not reach {url} to {what}: {exc}.") from exc
        if response.status_code >= 500:
            raise ServerError(f"Zoho accounts answered HTTP {response.status_code} to {what}.")
        body = _json(response)
        # The SDK judges token responses by the presence of access_token, not the HTTP status:
        # errors come back as {"error": ...} with 200 or 400 (doc 2.2).
        if body.get("access_token"):
            return body
        error = str(body.get("error") or f"HTTP {response.status_code}")
        if error.lower() == "access denied" or response.status_code == 429:
            raise RateLimited(
                f"Zoho accounts throttled the attempt to {what}: "
                f"{body.get('error_description') or error}.",
                code="ACCESS_DENIED",
            )
        raise AuthenticationFailed(f"Zoho accounts refused to {what}: {error}.", code=error)

    def _access_token(self, body: Mapping[str, Any]) -> AccessToken:
        # Legacy shape: when expires_in_sec is present, expires_in is in milliseconds (doc 2.2).
        if "expires_in_sec" in body:
            seconds = float(body["expires_in_sec"])
        else:
            seconds = float(body.get("expires_in") or 3600)
        api_domain = str(body.get("api_domain") or "").rstrip("/")
        if not api_domain:
            raise ConfigurationError("Zoho's token response carried no api_domain.")
        return AccessToken(
            value=str(body["access_token"]),
            expires_at=self._clock() + timedelta(seconds=seconds),
            api_domain=api_domain,
        )


@dataclass(frozen=True)
class OAuthApp:
    """ALIX's OAuth client at Zoho, for the connect flow: the consent URL, the code exchange and
    the revocation, at whichever trusted accounts server each names, every call over an HTTP
    client of its own (a stored connection's refreshes go through `ZohoCrmClient` instead)."""

    client_id: str
    client_secret: str
    # The development accounts server (the emulator), trusted besides Zoho's own.
    override_url: str | None = None
    transport: httpx.AsyncBaseTransport | None = None
    clock: Clock = utc_now
    timeout: float = 60.0

    async def authorization_url(self, location: str, *, redirect_uri: str, state: str) -> str:
        """The consent page at the data centre `location`."""
        async with self._accounts(location) as accounts:
            return accounts.authorization_url(redirect_uri=redirect_uri, state=state)

    async def exchange_code(self, code: str, location: str | None, *, redirect_uri: str,
                            accounts_server_named: str | None) -> Grant:
        """Exchange the code at the accounts server the redirect named, if trusted, else at
        the data centre's."""
        async with self._accounts(location) as accounts:
            return await accounts.exchange_code(code, redirect_uri=redirect_uri,
                                                accounts_server_named=accounts_server_named)

    async def revoke(self, refresh_token: str, accounts_url: str) -> None:
        """Revoke the refresh token at the accounts server that granted it."""
        async with self._accounts(None, accounts_url) as accounts:
            await accounts.revoke(refresh_token)

    @asynccontextmanager
    async def _accounts(self, location: str | None,
                        accounts_url: str | None = None) -> AsyncIterator[ZohoAccounts]:
        async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout,
                                     verify=shared_ssl_context()) as http:
            yield ZohoAccounts(http, client_id=self.client_id, client_secret=self.client_secret,
                               location=location, accounts_url=accounts_url,
                               override_url=self.override_url, clock=self.clock)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
