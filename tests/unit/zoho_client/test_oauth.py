"""Data centres, the consent URL, code exchange and the token endpoint's quirks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from alix.clock import FrozenClock
from alix.integrations.zoho_crm.client import (
    DATA_CENTRES,
    SCOPES,
    AuthenticationFailed,
    ConfigurationError,
    RateLimited,
    ZohoAccounts,
    accounts_server,
    parse_datetime,
)

from .conftest import START

pytestmark = pytest.mark.anyio


def test_the_data_centre_table_knows_canada_is_on_zohocloud() -> None:
    assert DATA_CENTRES["ca"].accounts_url == "https://accounts.zohocloud.ca"
    assert set(DATA_CENTRES) == {"us", "eu", "in", "au", "jp", "ca", "sa", "uk", "cn"}
    assert accounts_server(location="EU") == "https://accounts.zoho.eu"


def test_only_known_accounts_servers_or_the_override_are_trusted() -> None:
    assert accounts_server(named="https://accounts.zoho.com.au/") == "https://accounts.zoho.com.au"
    with pytest.raises(ConfigurationError, match="not a Zoho data centre"):
        accounts_server(named="https://accounts.zoho.com.evil.example")
    override = "http://127.0.0.1:8765"
    assert accounts_server(override=override, location="us") == override
    with pytest.raises(ConfigurationError, match="only trusts"):
        accounts_server(named="https://accounts.zoho.com", override=override)


def test_datetimes_keep_their_offset_and_come_back_in_utc() -> None:
    assert parse_datetime("2026-05-14T12:00:00+03:00") == START
    with pytest.raises(Exception, match="without an offset"):
        parse_datetime("2026-05-14T12:00:00")


def accounts(
    handler: Callable[[httpx.Request], httpx.Response], **kw: Any
) -> tuple[ZohoAccounts, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(record))
    kw.setdefault("location", "us")
    return (
        ZohoAccounts(http, client_id="cid", client_secret="secret", clock=FrozenClock(START), **kw),
        seen,
    )


def test_the_consent_url_asks_for_offline_access_and_exactly_our_scopes() -> None:
    app, _ = accounts(lambda r: httpx.Response(500))
    url = urlsplit(app.authorization_url(redirect_uri="https://alix.example/cb", state="s-1"))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://accounts.zoho.com/oauth/v2/auth"
    assert query["scope"].split(",") == list(SCOPES)
    assert "ZohoCRM.coql.READ" in SCOPES and "ZohoSearch.securesearch.READ" in SCOPES
    assert (query["access_type"], query["prompt"], query["state"]) == ("offline", "consent", "s-1")
    assert query["response_type"] == "code"


async def test_a_code_is_exchanged_where_the_redirect_says_if_zoho_runs_it() -> None:
    def grant(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "access_token": "a1",
                "refresh_token": "r1",
                "api_domain": "https://www.zohoapis.eu",
                "expires_in": 3600,
                "scope": "ZohoCRM.modules.ALL ZohoCRM.settings.ALL",
            },
        )

    app, seen = accounts(grant)
    result = await app.exchange_code(
        "code-1",
        redirect_uri="https://alix.example/cb",
        accounts_server_named="https://accounts.zoho.eu",
    )
    assert str(seen[0].url) == "https://accounts.zoho.eu/oauth/v2/token"
    assert result.accounts_url == "https://accounts.zoho.eu"
    assert result.access.api_domain == "https://www.zohoapis.eu"
    assert result.scopes == ("ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL")
    with pytest.raises(ConfigurationError):
        await app.exchange_code("code-2", accounts_server_named="https://attacker.example")
    assert len(seen) == 1  # nothing was sent to the forged server


async def test_the_legacy_millisecond_expiry_shape_is_understood() -> None:
    body = {
        "access_token": "a",
        "api_domain": "https://www.zohoapis.com",
        "expires_in": 3_600_000,
        "expires_in_sec": 3600,
    }
    app, _ = accounts(lambda r: httpx.Response(200, json=body))
    token = await app.refresh("r1")
    assert (token.expires_at - START).total_seconds() == 3600


@pytest.mark.parametrize("status", [200, 400])
async def test_token_endpoint_errors_come_with_200_or_400(status: int) -> None:
    app, _ = accounts(lambda r: httpx.Response(status, json={"error": "invalid_client"}))
    with pytest.raises(AuthenticationFailed, match="invalid_client"):
        await app.refresh("r1")
    throttled = {"error": "Access Denied", "error_description": "You have made too many requests"}
    app, _ = accounts(lambda r: httpx.Response(status, json=throttled))
    with pytest.raises(RateLimited, match="too many requests"):
        await app.refresh("r1")
