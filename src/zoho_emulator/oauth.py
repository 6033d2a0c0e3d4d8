"""Zoho Accounts emulation: clients, grant codes, refresh and access tokens and their caps."""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock

CODE_LIFETIME = 120  # seconds; Zoho Accounts docs say grant codes live 2 minutes (section 2.1)
LIVE_ACCESS_PER_REFRESH = 15  # the 16th evicts the oldest (section 2.3)
MINTS_PER_WINDOW = 10  # access tokens per refresh token per 10 minutes (section 2.3)
MINT_WINDOW = 600
THROTTLED = {"error": "Access Denied", "error_description":
             "You have made too many requests continuously. Please try again after some time."}


class OAuthError(Exception):
    """A token-endpoint failure, answered as `{"error": ...}` with no access_token."""

    def __init__(self, error: str, body: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.body = body or {"error": error}


@dataclass
class Client:
    id: str
    secret: str
    redirect_uris: list[str]
    self_client: bool = False


@dataclass
class Grant:
    code: str
    client_id: str
    org_id: str
    user_id: str
    scopes: tuple[str, ...]
    redirect_uri: str | None
    expires: float
    offline: bool


@dataclass
class RefreshToken:
    token: str
    client_id: str
    org_id: str
    user_id: str
    scopes: tuple[str, ...]
    live: deque[str] = field(default_factory=deque)
    mints: deque[float] = field(default_factory=deque)


@dataclass
class AccessToken:
    token: str
    client_id: str
    org_id: str
    user_id: str
    scopes: tuple[str, ...]
    expires: float
    refresh: str | None


def split_scopes(raw: str) -> tuple[str, ...]:
    """Scopes are comma-separated in requests; tolerate spaces too."""
    return tuple(s for s in raw.replace(" ", ",").split(",") if s)


def _token() -> str:
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


class TokenService:
    """All OAuth state of one emulator (one data centre); tokens never work on another."""

    def __init__(self, clock: Clock, access_lifetime: int = 3600) -> None:
        self.clock = clock
        self.access_lifetime = access_lifetime
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}

    def clear_tokens(self) -> None:
        self.codes.clear()
        self.refresh_tokens.clear()
        self.access_tokens.clear()

    def register_client(self, client_id: str, secret: str, redirect_uri: str | None) -> Client:
        client = self.clients.get(client_id) or Client(client_id, secret, [])
        client.secret = secret
        if redirect_uri and redirect_uri not in client.redirect_uris:
            client.redirect_uris.append(redirect_uri)
        self.clients[client_id] = client
        return client

    def self_client(self, org_id: str, user_id: str, scopes: tuple[str, ...]) -> dict[str, Any]:
        """A new self client with a refresh token for `org_id` / `user_id` (test control)."""
        client = Client(f"1000.{secrets.token_hex(15).upper()}", secrets.token_hex(21), [],
                        self_client=True)
        self.clients[client.id] = client
        refresh = self._new_refresh(client.id, org_id, user_id, scopes)
        return {"client_id": client.id, "client_secret": client.secret,
                "refresh_token": refresh.token, "scope": ",".join(scopes)}

    def authorize(self, client_id: str, redirect_uri: str, scopes: tuple[str, ...], org_id: str,
                  user_id: str, offline: bool) -> str:
        """A one-use grant code, after the user accepted the consent page."""
        code = _token()
        self.codes[code] = Grant(code, client_id, org_id, user_id, scopes, redirect_uri,
                                 self.clock.time() + CODE_LIFETIME, offline)
        return code

    def check_client(self, client_id: str, secret: str | None = None) -> Client:
        client = self.clients.get(client_id)
        if client is None or (secret is not None and secret != client.secret):
            raise OAuthError("invalid_client")
        return client

    def exchange_code(self, params: dict[str, str], api_domain: str) -> dict[str, Any]:
        client = self.check_client(params.get("client_id", ""), params.get("client_secret", ""))
        grant = self.codes.pop(params.get("code", ""), None)  # one use, even when it fails
        if grant is None or grant.client_id != client.id or grant.expires < self.clock.time():
            raise OAuthError("invalid_code")
        if not client.self_client and params.get("redirect_uri") != grant.redirect_uri:
            raise OAuthError("invalid_redirect_uri")
        body: dict[str, Any] = {}
        refresh: RefreshToken | None = None
        if grant.offline:
            refresh = self._new_refresh(client.id, grant.org_id, grant.user_id, grant.scopes)
            body["refresh_token"] = refresh.token
        access = self._mint(client.id, grant.org_id, grant.user_id, grant.scopes, refresh)
        return {"access_token": access.token, **body, **self._describe(access, api_domain)}

    def refresh(self, params: dict[str, str], api_domain: str) -> dict[str, Any]:
        client = self.check_client(params.get("client_id", ""), params.get("client_secret", ""))
        refresh = self.refresh_tokens.get(params.get("refresh_token", ""))
        if refresh is None or refresh.client_id != client.id:
            raise OAuthError("invalid_code")
        now = self.clock.time()
        while refresh.mints and refresh.mints[0] <= now - MINT_WINDOW:
            refresh.mints.popleft()
        if len(refresh.mints) >= MINTS_PER_WINDOW:
            raise OAuthError("Access Denied", dict(THROTTLED))
        access = self._mint(client.id, refresh.org_id, refresh.user_id, refresh.scopes, refresh)
        return {"access_token": access.token, **self._describe(access, api_domain)}

    def revoke(self, token: str) -> bool:
        refresh = self.refresh_tokens.pop(token, None)
        if refresh is not None:
            for access in refresh.live:
                self.access_tokens.pop(access, None)
            return True
        return self.access_tokens.pop(token, None) is not None

    def lookup(self, token: str) -> AccessToken | None:
        access = self.access_tokens.get(token)
        if access is None or access.expires <= self.clock.time():
            return None
        return access

    def expire_all(self) -> int:
        """Forced expiry (test control): every live access token stops working now."""
        now = self.clock.time()
        for access in self.access_tokens.values():
            access.expires = min(access.expires, now)
        return len(self.access_tokens)

    def _new_refresh(self, client_id: str, org_id: str, user_id: str,
                     scopes: tuple[str, ...]) -> RefreshToken:
        refresh = RefreshToken(_token(), client_id, org_id, user_id, scopes)
        self.refresh_tokens[refresh.token] = refresh
        return refresh

    def _mint(self, client_id: str, org_id: str, user_id: str, scopes: tuple[str, ...],
              refresh: RefreshToken | None) -> AccessToken:
        now = self.clock.time()
        access = AccessToken(_token(), client_id, org_id, user_id, scopes,
                             now + self.access_lifetime, refresh.token if refresh else None)
        self.access_tokens[access.token] = access
        if refresh is not None:
            refresh.mints.append(now)
            refresh.live.append(access.token)
            while len(refresh.live) > LIVE_ACCESS_PER_REFRESH:
                self.access_tokens.pop(refresh.live.popleft(), None)
        return access

    def _describe(self, access: AccessToken, api_domain: str) -> dict[str, Any]:
        return {"scope": " ".join(access.scopes), "api_domain": api_domain,
                "token_type": "Bearer", "expires_in": round(access.expires - self.clock.time())}
