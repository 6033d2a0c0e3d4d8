"""Accounts server: consent, both grant styles, one-use codes, caps, revoke, data centres."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from zoho_emulator.testing import EmulatorServer

from .conftest import CALLBACK, OTHER_ORG


def _consent(raw: httpx.Client, principal: str = "60012345:5725767000000411001",
             decision: str = "accept", access_type: str = "offline") -> dict[str, list[str]]:
    query = {"client_id": "web-client", "response_type": "code", "redirect_uri": CALLBACK,
             "scope": "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL", "access_type": access_type,
             "state": "xyz"}
    page = raw.get("/oauth/v2/auth", params=query)
    assert page.status_code == 200
    assert "Maple Leaf Trading Inc." in page.text and "ZohoCRM.settings.ALL" in page.text
    assert "Accept" in page.text and "Deny" in page.text
    answer = raw.post("/oauth/v2/auth", data={**query, "principal": principal,
                                              "decision": decision})
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(CALLBACK + "?")
    return parse_qs(urlsplit(location).query)


def test_code_grant_with_form_body_then_code_reuse_refused(raw: httpx.Client,
                                                           emu: EmulatorServer) -> None:
    back = _consent(raw)
    assert back["state"] == ["xyz"] and back["location"] == ["us"]
    assert back["accounts-server"] == [emu.base_url]
    form = {"grant_type": "authorization_code", "client_id": "web-client",
            "client_secret": "web-secret", "redirect_uri": CALLBACK, "code": back["code"][0]}
    body = raw.post("/oauth/v2/token", data=form).json()
    assert set(body) == {"access_token", "refresh_token", "scope", "api_domain", "token_type",
                         "expires_in"}
    assert body["api_domain"] == emu.base_url and body["expires_in"] == 3600
    assert body["scope"] == "ZohoCRM.modules.ALL ZohoCRM.settings.ALL"
    again = raw.post("/oauth/v2/token", data=form)
    assert again.status_code == 200 and again.json() == {"error": "invalid_code"}


def test_code_and_refresh_grants_as_query_string(raw: httpx.Client) -> None:
    code = _consent(raw)["code"][0]
    body = raw.post("/oauth/v2/token", params={
        "grant_type": "authorization_code", "client_id": "web-client",
        "client_secret": "web-secret", "redirect_uri": CALLBACK, "code": code}).json()
    refreshed = raw.post("/oauth/v2/token", params={
        "grant_type": "refresh_token", "client_id": "web-client", "client_secret": "web-secret",
        "refresh_token": body["refresh_token"]}).json()
    assert "refresh_token" not in refreshed and refreshed["access_token"] != body["access_token"]
    org = raw.get("/crm/v8/org", headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    # Only ZohoCRM.modules/settings were granted, not ZohoCRM.org.
    assert org.status_code == 401 and org.json()["code"] == "OAUTH_SCOPE_MISMATCH"


def test_code_expires_after_two_minutes_and_online_has_no_refresh(raw: httpx.Client,
                                                                  emu: EmulatorServer) -> None:
    code = _consent(raw, access_type="online")["code"][0]
    form = {"grant_type": "authorization_code", "client_id": "web-client",
            "client_secret": "web-secret", "redirect_uri": CALLBACK}
    assert "refresh_token" not in raw.post("/oauth/v2/token", data={**form, "code": code}).json()
    late = _consent(raw)["code"][0]
    emu.control("clock", {"advance": 121})
    assert raw.post("/oauth/v2/token", data={**form, "code": late}).json() == {
        "error": "invalid_code"}


def test_deny_unknown_client_and_wrong_secret(raw: httpx.Client) -> None:
    assert _consent(raw, decision="deny") == {"error": ["access_denied"], "state": ["xyz"]}
    bad = raw.get("/oauth/v2/auth", params={"client_id": "nope", "redirect_uri": CALLBACK})
    assert bad.status_code == 400
    wrong_uri = raw.get("/oauth/v2/auth", params={"client_id": "web-client",
                                                  "redirect_uri": "http://evil/cb"})
    assert wrong_uri.status_code == 400
    body = raw.post("/oauth/v2/token", data={"grant_type": "refresh_token",
                                             "client_id": "web-client", "client_secret": "x",
                                             "refresh_token": "1000.x"}).json()
    assert body == {"error": "invalid_client"}


def _refresh(raw: httpx.Client, creds: dict[str, str]) -> dict[str, str]:
    result: dict[str, str] = raw.post("/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": creds["client_id"],
        "client_secret": creds["client_secret"], "refresh_token": creds["refresh_token"]}).json()
    return result


def _works(raw: httpx.Client, token: str) -> int:
    return raw.get("/crm/v8/users", params={"type": "CurrentUser"},
                   headers={"Authorization": f"Zoho-oauthtoken {token}"}).status_code


def test_ten_refreshes_per_ten_minutes_then_access_denied(raw: httpx.Client,
                                                          emu: EmulatorServer) -> None:
    creds = emu.self_client()
    assert set(creds) == {"client_id", "client_secret", "refresh_token", "scope"}
    for _ in range(10):
        assert "access_token" in _refresh(raw, creds)
    denied = _refresh(raw, creds)
    assert denied["error"] == "Access Denied" and "access_token" not in denied
    emu.control("clock", {"advance": 601})
    assert "access_token" in _refresh(raw, creds)


def test_sixteenth_live_access_token_evicts_the_oldest(raw: httpx.Client,
                                                       emu: EmulatorServer) -> None:
    creds = emu.self_client()
    tokens = [_refresh(raw, creds)["access_token"] for _ in range(10)]
    emu.control("clock", {"advance": 601})
    tokens += [_refresh(raw, creds)["access_token"] for _ in range(5)]
    assert all(_works(raw, t) == 200 for t in tokens)
    tokens.append(_refresh(raw, creds)["access_token"])
    assert _works(raw, tokens[0]) == 401
    assert all(_works(raw, t) == 200 for t in tokens[1:])


def test_expiry_revoke_forced_expiry_and_missing_header(raw: httpx.Client,
                                                        emu: EmulatorServer) -> None:
    creds = emu.self_client()
    token = _refresh(raw, creds)["access_token"]
    emu.control("clock", {"advance": 3601})
    answer = raw.get("/crm/v8/org", headers={"Authorization": f"Zoho-oauthtoken {token}"})
    assert answer.status_code == 401 and answer.json() == {
        "code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token",
        "status": "error"}
    fresh = _refresh(raw, creds)["access_token"]
    assert _works(raw, fresh) == 200
    assert emu.control("faults", {"expire_tokens": True})["expired_tokens"] >= 1
    assert _works(raw, fresh) == 401
    newer = _refresh(raw, creds)["access_token"]
    revoked = raw.post("/oauth/v2/token/revoke", params={"token": creds["refresh_token"]})
    assert revoked.json() == {"status": "success"}
    assert _works(raw, newer) == 401
    assert "access_token" not in _refresh(raw, creds)
    assert raw.post("/oauth/v2/token/revoke", data={"token": "1000.x"}).status_code == 400
    missing = raw.get("/crm/v8/org")
    assert missing.status_code == 401 and missing.json()["code"] == "AUTHENTICATION_FAILURE"


def test_token_lifetime_is_configurable(raw: httpx.Client, emu: EmulatorServer) -> None:
    emu.control("config", {"access_token_lifetime": 60})
    body = _refresh(raw, emu.self_client())
    assert body["expires_in"] == 60
    emu.control("clock", {"advance": 61})
    assert _works(raw, body["access_token"]) == 401


def test_tokens_of_another_data_centre_are_invalid(emu: EmulatorServer) -> None:
    with EmulatorServer() as eu, httpx.Client(timeout=30) as c:
        token = eu.access_token(org_id=OTHER_ORG)
        here = c.get(f"{emu.base_url}/crm/v8/org",
                     headers={"Authorization": f"Zoho-oauthtoken {token}"})
        there = c.get(f"{eu.base_url}/crm/v8/org",
                      headers={"Authorization": f"Zoho-oauthtoken {token}"})
    assert here.status_code == 401 and here.json()["code"] == "INVALID_TOKEN"
    assert there.status_code == 200 and there.json()["org"][0]["id"] == OTHER_ORG
