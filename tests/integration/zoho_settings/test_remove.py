"""Remove integration: token revoked, configuration deleted, then any Zoho org may connect."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from alix.db.session import unit_of_work
from alix.identity.service import create_api_token
from alix.identity.tables import Role, User
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

API = "/api/v1/integrations/zoho-crm"
REMOVE = "/settings/integrations/zoho-crm/remove"
TABLES = ("zoho_connections", "zoho_modules", "zoho_field_mappings", "zoho_access_tokens")


def _counts(alix: Alix) -> dict[str, int]:
    with alix.container.engine.connect() as db:
        return {t: int(db.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one())
                for t in TABLES}


def _refresh_tokens(emu: EmulatorServer) -> set[str]:
    return set(getattr(emu.state.tokens, "refresh_tokens", {}) or {})


def test_remove_on_the_page_deletes_everything_then_another_org_connects(
    alix: Alix, emu: EmulatorServer, backend: str
) -> None:
    before = _refresh_tokens(emu)
    connect(alix.http, emu)
    issued = _refresh_tokens(emu) - before
    alix.http.post(API + "/mappers/customer/rows", headers=api_headers(alix.http))
    alix.http.post(API + "/metadata/refresh", headers=api_headers(alix.http))
    assert all(_counts(alix).values()), _counts(alix)
    details = alix.http.get("/settings/integrations/zoho-crm").text
    assert f'href="{REMOVE}"' in details
    confirm = alix.http.get(REMOVE).text
    assert "Maple Leaf Trading Inc." in confirm and "every field mapping" in confirm
    assert "links between ALIX customers" in confirm
    done = alix.http.post(REMOVE, data={"csrf_token": csrf_of(confirm)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/settings/integrations"
    assert "were removed" in alix.http.get("/settings/integrations").text
    assert _counts(alix) == dict.fromkeys(TABLES, 0)
    assert issued and not (issued & _refresh_tokens(emu)), "the refresh token still works"
    assert alix.http.get(API).json() == {"status": "not_connected"}
    connect(alix.http, emu, BROOK)
    status = alix.http.get(API).json()
    assert status["status"] == "connected" and status["org"]["id"] == "60067890"
    rows = alix.http.get(API + "/settings").json()["modules"][0]["mappers"][0]["rows"]
    assert [r["alix_field"] for r in rows] == ["name"]  # a fresh configuration


def test_remove_through_the_api_after_a_refused_reconnect(alix: Alix, emu: EmulatorServer) -> None:
    connect(alix.http, emu)
    assert alix.http.post(API + "/disconnect", headers=api_headers(alix.http)).status_code == 200
    callback = authorize(alix.http, emu, BROOK)
    refused = alix.http.get(callback.removeprefix(PUBLIC), headers={"Accept": "text/html"})
    assert refused.status_code == 409 and "Remove integration" in refused.text
    page = alix.http.get("/settings/integrations").text
    assert f'href="{REMOVE}"' in page and "Disconnected" in page
    answer = alix.http.delete(API, headers=api_headers(alix.http))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "not_connected", "warning": None}
    assert _counts(alix) == dict.fromkeys(TABLES, 0)
    again = alix.http.delete(API, headers=api_headers(alix.http))
    assert again.status_code == 409 and "no Zoho CRM integration to remove" in again.text
    connect(alix.http, emu, BROOK)
    assert alix.http.get(API).json()["org"]["name"] == "Brookside Widgets Ltd"


def test_only_this_organisations_admin_removes(alix: Alix, emu: EmulatorServer) -> None:
    connect(alix.http, emu)
    member = make_account(alix.container, "Acme Ltd", "member@acme.example", Role.MEMBER)
    stranger = make_account(alix.container, "Globex Corp", "admin@globex.example", Role.ADMIN)
    with TestClient(alix.http.app, base_url=PUBLIC) as http:
        login(http, member)
        token = csrf_of(http.get("/").text)
        assert http.get(REMOVE, headers={"Accept": "text/html"}).status_code == 403
        assert http.post(REMOVE, data={"csrf_token": token},
                         follow_redirects=False).status_code == 403
        assert http.delete(API, headers={"X-CSRF-Token": token}).status_code == 403
    with unit_of_work(alix.container.session_factory) as session:
        user = session.get(User, stranger.user_id)
        assert user is not None
        bearer = create_api_token(session, user, "globex")[1]
    with TestClient(alix.http.app, base_url=PUBLIC) as http:
        answer = http.delete(API, headers={"Authorization": f"Bearer {bearer}"})
        assert answer.status_code == 409
    assert alix.http.get(API).json()["status"] == "connected"
    assert _counts(alix)["zoho_modules"] == 5


def test_an_undecryptable_token_does_not_block_disconnect_or_remove(
    alix: Alix, emu: EmulatorServer
) -> None:
    connect(alix.http, emu)
    with alix.container.engine.begin() as db:  # as if ALIX_SECRET_KEY had changed
        db.execute(text("UPDATE zoho_connections SET refresh_token = 'gAAAAAbogus'"))
    answer = alix.http.post(API + "/disconnect", headers=api_headers(alix.http))
    assert answer.status_code == 200, answer.text
    assert "could not be decrypted" in answer.json()["warning"]
    out = alix.http.post(REMOVE, data={"csrf_token": csrf(alix.http)}, follow_redirects=False)
    assert out.status_code == 303
    assert _counts(alix)["zoho_connections"] == 0


def test_zoho_refusing_the_revocation_warns_and_still_removes(
    alix: Alix, emu: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    before = _refresh_tokens(emu)
    connect(alix.http, emu)
    issued = _refresh_tokens(emu) - before
    # Zoho's accounts server answers 500 to everything from now on.
    alix.container.use_zoho(transport=httpx.MockTransport(
        lambda request: httpx.Response(500, json={"error": "internal"})))
    with caplog.at_level(logging.WARNING):
        answer = alix.http.delete(API, headers=api_headers(alix.http))
    assert answer.status_code == 200, answer.text
    warning = answer.json()["warning"]
    assert "Maple Leaf Trading Inc. (60012345)" in warning and "Connected Apps" in warning
    assert _counts(alix) == dict.fromkeys(TABLES, 0)
    logged = caplog.text
    assert "Maple Leaf Trading Inc. (60012345)" in logged
    assert issued and not any(token in logged for token in issued), "a token was logged"
