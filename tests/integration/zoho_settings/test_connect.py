"""Connect, confirm, identity, encrypted tokens, forged state, another org, disconnect."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import text
from starlette.testclient import TestClient

from alix.identity.tables import Role
from tests.integration.zoho_settings.conftest import (
    BROOK,
    PUBLIC,
    Alix,
    api_headers,
    authorize,
    connect,
    csrf,
)
from tests.support import csrf_of, login, make_account
from zoho_emulator.testing import EmulatorServer


def _tokens_of(emu: EmulatorServer) -> set[str]:
    tokens = emu.state.tokens
    found: set[str] = set()
    for name in ("refresh_tokens", "access_tokens"):
        found.update(getattr(tokens, name, {}) or {})
    return found


def test_connect_shows_details_and_who_we_are(alix: Alix, emu: EmulatorServer) -> None:
    connect(alix.http, emu)
    page = alix.http.get("/settings/integrations").text
    assert "Details" in page
    assert "Connected as" in page and "Maple Leaf Trading Inc." in page
    status = alix.http.get("/api/v1/integrations/zoho-crm").json()
    assert status["status"] == "connected"
    assert status["org"] == {"id": "60012345", "name": "Maple Leaf Trading Inc.",
                             "edition": "enterprise"}
    assert status["user"]["email"] == "jo.admin@mapleleaf.example"
    assert status["user"]["time_zone"] == "America/Toronto"
    assert status["data_centre"] == "us"
    assert "token" not in str(status).lower().replace("access_token", "")


def test_tokens_are_encrypted_at_rest(alix: Alix, emu: EmulatorServer) -> None:
    connect(alix.http, emu)
    alix.http.post("/api/v1/integrations/zoho-crm/metadata/refresh",
                   headers=api_headers(alix.http)).raise_for_status()
    with alix.container.engine.connect() as db:
        stored = db.execute(text("SELECT refresh_token FROM zoho_connections")).scalar()
        access = db.execute(text("SELECT access_token FROM zoho_access_tokens")).scalars().all()
    issued = _tokens_of(emu)
    assert issued, "the emulator issued no token"
    assert stored and stored.startswith("gAAAA")  # Fernet
    for token in issued:
        assert token not in stored
        assert all(token not in (value or "") for value in access)
    assert access, "the refreshed access token was not stored"


def test_a_forged_state_is_refused(alix: Alix, emu: EmulatorServer) -> None:
    callback = authorize(alix.http, emu)
    parts = dict(parse_qsl(urlsplit(callback).query))
    parts["state"] = "forged-" + parts["state"]
    answer = alix.http.get("/integrations/zoho-crm/oauth/callback?" + urlencode(parts),
                           headers={"Accept": "text/html"})
    assert answer.status_code == 403
    assert "state" in answer.text
    assert alix.http.get("/api/v1/integrations/zoho-crm").json()["status"] == "not_connected"


def test_a_code_from_an_unknown_accounts_server_is_not_exchanged(
    alix: Alix, emu: EmulatorServer
) -> None:
    callback = authorize(alix.http, emu)
    parts = dict(parse_qsl(urlsplit(callback).query))
    parts["accounts-server"] = "https://accounts.evil.example"
    answer = alix.http.get("/integrations/zoho-crm/oauth/callback?" + urlencode(parts),
                           headers={"Accept": "text/html"})
    assert answer.status_code == 409
    assert "accounts.evil.example" in answer.text
    assert alix.http.get("/api/v1/integrations/zoho-crm").json()["status"] == "not_connected"


def test_reconnecting_to_another_zoho_org_is_refused(alix: Alix, emu: EmulatorServer) -> None:
    connect(alix.http, emu)
    out = alix.http.post("/settings/integrations/zoho-crm/disconnect",
                         data={"csrf_token": csrf(alix.http)}, follow_redirects=False)
    assert out.status_code == 303
    callback = authorize(alix.http, emu, BROOK)
    answer = alix.http.get(callback.removeprefix(PUBLIC), headers={"Accept": "text/html"})
    assert answer.status_code == 409
    assert "Maple Leaf Trading Inc." in answer.text and "Brookside Widgets Ltd" in answer.text
    status = alix.http.get("/api/v1/integrations/zoho-crm").json()
    assert status["status"] == "disconnected" and status["org"]["id"] == "60012345"
    # Reconnecting the same org keeps the configuration.
    connect(alix.http, emu)
    assert alix.http.get("/api/v1/integrations/zoho-crm").json()["status"] == "connected"


def test_disconnect_revokes_the_refresh_token(alix: Alix, emu: EmulatorServer) -> None:
    before = _tokens_of(emu)
    connect(alix.http, emu)
    new = _tokens_of(emu) - before
    answer = alix.http.post("/api/v1/integrations/zoho-crm/disconnect",
                            headers=api_headers(alix.http))
    assert answer.status_code == 200 and answer.json()["warning"] is None
    assert not (new & _tokens_of(emu)), "the refresh token still works at Zoho"
    with alix.container.engine.connect() as db:
        assert db.execute(text("SELECT refresh_token FROM zoho_connections")).scalar() is None


def test_members_and_strangers_cannot_use_the_pages(alix: Alix, emu: EmulatorServer) -> None:
    connect(alix.http, emu)
    member = make_account(alix.container, "Acme Ltd", "member@acme.example", Role.MEMBER)
    with TestClient(alix.http.app, base_url=PUBLIC) as http:
        anonymous = http.get("/integrations/zoho-crm/oauth/callback?state=x&code=y",
                             headers={"Accept": "text/html"})
        assert anonymous.status_code == 403
        login(http, member)
        for path in ("/settings/integrations", "/settings/integrations/zoho-crm"):
            assert http.get(path, headers={"Accept": "text/html"}).status_code == 403
        page = http.get("/").text
        answer = http.post("/settings/integrations/zoho-crm/disconnect",
                           data={"csrf_token": csrf_of(page)}, follow_redirects=False)
        assert answer.status_code == 403
    assert alix.http.get("/api/v1/integrations/zoho-crm").json()["status"] == "connected"
