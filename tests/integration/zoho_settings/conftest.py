"""An ALIX app configured for a Zoho emulator on real HTTP, and the OAuth dance through it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from alix.bootstrap import Container, build_container
from alix.identity.tables import Role
from alix.web.app import create_app
from tests.support import Account, login, make_account, make_settings
from zoho_emulator.testing import EmulatorServer

CLIENT_ID = "1000.ALIXTEST"
CLIENT_SECRET = "alix-test-secret"
PUBLIC = "http://testserver"
CALLBACK = f"{PUBLIC}/integrations/zoho-crm/oauth/callback"
MAPLE = "60012345:5725767000000411001"  # multi-currency org, its admin
BROOK = "60067890:4876876000000311001"  # org without multi-currency


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(register_clients=[(CLIENT_ID, CLIENT_SECRET, CALLBACK)]) as server:
        yield server


@pytest.fixture
def zoho_container(engine: Engine, emu: EmulatorServer) -> Container:
    settings = make_settings(
        str(engine.url.render_as_string(False)), zoho_client_id=CLIENT_ID,
        zoho_client_secret=CLIENT_SECRET, zoho_accounts_url=emu.base_url, public_url=PUBLIC,
    )
    return build_container(settings, engine=engine, with_runner=False)


@dataclass
class Alix:
    """A logged-in browser-like client of ALIX and the accounts it knows."""

    http: TestClient
    container: Container
    admin: Account


@pytest.fixture
def alix(zoho_container: Container) -> Iterator[Alix]:
    admin = make_account(zoho_container, "Acme Ltd", "admin@acme.example", Role.ADMIN)
    with TestClient(create_app(zoho_container), base_url=PUBLIC) as http:
        login(http, admin)
        yield Alix(http, zoho_container, admin)


def csrf(http: TestClient) -> str:
    from tests.support import csrf_of

    return csrf_of(http.get("/settings/integrations").text)


def authorize(http: TestClient, emu: EmulatorServer, principal: str = MAPLE) -> str:
    """Click Connect, accept on the emulator's consent page; the callback URL Zoho sends."""
    start = http.post("/settings/integrations/zoho-crm/connect",
                      data={"location": "us", "csrf_token": csrf(http)}, follow_redirects=False)
    assert start.status_code == 303, start.text
    consent = start.headers["location"]
    assert consent.startswith(emu.base_url + "/oauth/v2/auth?")
    form = dict(parse_qsl(urlsplit(consent).query))
    form.update(decision="accept", principal=principal)
    answer = httpx.post(emu.base_url + "/oauth/v2/auth", data=form)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def connect(http: TestClient, emu: EmulatorServer, principal: str = MAPLE) -> None:
    """The whole Connect flow up to "Connect ALIX"."""
    callback = authorize(http, emu, principal)
    confirm = http.get(callback.removeprefix(PUBLIC))
    assert confirm.status_code == 200, confirm.text
    assert "Connect ALIX" in confirm.text
    done = http.post("/settings/integrations/zoho-crm/confirm",
                     data={"csrf_token": csrf(http)}, follow_redirects=False)
    assert done.status_code == 303, done.text


def api_headers(http: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": csrf(http), "Accept": "application/json"}
