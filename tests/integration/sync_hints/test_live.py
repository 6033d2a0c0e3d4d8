"""End to end over real HTTP: ALIX under uvicorn, the emulator calling its endpoint back.

A CRM user creates and edits an Account in the emulator; its callbacks reach ALIX, the worker
fetches the record and the ALIX customer follows within seconds. Duplicated and reordered
callbacks change nothing twice; a forged token is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import select

from alix.customers.tables import customers
from alix.integrations.zoho_crm.repository import connected
from alix.integrations.zoho_crm.sync.engine.channels import channels_of
from alix.jobs.tables import QUEUED, RUNNING, Job
from tests.live import LiveServer, serve_alix
from tests.support import csrf_of
from zoho_emulator.testing import EmulatorServer

CLIENT_ID = "1000.ALIXLIVE"
CLIENT_SECRET = "alix-live-secret"
SELLER = "5725767000000411002"  # Sam Seller, a CRM user of the default org (not ALIX's)
API = "/api/v1/integrations/zoho-crm"

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for {what}.")
        time.sleep(0.05)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[LiveServer, EmulatorServer, httpx.Client]]:
    with EmulatorServer() as emu, serve_alix(
        tmp_path / "alix.db", zoho_client_id=CLIENT_ID, zoho_client_secret=CLIENT_SECRET,
        zoho_accounts_url=emu.base_url,
    ) as live, httpx.Client(base_url=live.base_url, timeout=30) as http:
        emu.control("register-client", {
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "redirect_uri": f"{live.base_url}/integrations/zoho-crm/oauth/callback"})
        _login(http, live)
        _connect(http, emu, live)
        _activate_customers(http)
        yield live, emu, http


def _login(http: httpx.Client, live: LiveServer) -> None:
    page = http.get("/login")
    done = http.post("/login", data={"email": live.admin.email, "password": live.admin.password,
                                     "csrf_token": csrf_of(page.text), "next": "/"})
    assert done.status_code == 303, done.text


def _csrf(http: httpx.Client) -> str:
    return csrf_of(http.get("/settings/integrations").text)


def _connect(http: httpx.Client, emu: EmulatorServer, live: LiveServer) -> None:
    start = http.post("/settings/integrations/zoho-crm/connect",
                      data={"location": "us", "csrf_token": _csrf(http)})
    assert start.status_code == 303, start.text
    form = dict(parse_qsl(urlsplit(start.headers["location"]).query))
    form.update(decision="accept", principal="60012345:5725767000000411001")
    answer = httpx.post(emu.base_url + "/oauth/v2/auth", data=form)
    assert answer.status_code == 302, answer.text
    confirm = http.get(answer.headers["location"].removeprefix(live.base_url))
    assert confirm.status_code == 200, confirm.text
    done = http.post("/settings/integrations/zoho-crm/confirm",
                     data={"csrf_token": _csrf(http)})
    assert done.status_code == 303, done.text


def _api(http: httpx.Client, method: str, path: str, body: Any = None) -> httpx.Response:
    return http.request(method, API + path, json=body,
                        headers={"X-CSRF-Token": _csrf(http), "Accept": "application/json"})


def _activate_customers(http: httpx.Client) -> None:
    row = _api(http, "POST", "/mappers/customer/rows")
    assert row.status_code == 201, row.text
    edited = _api(http, "PATCH", f"/mappers/customer/rows/{row.json()['id']}",
                  {"alix_field": "currency", "crm_field": "Currency"})
    assert edited.status_code == 200, edited.text
    active = _api(http, "PATCH", "/modules/customers", {"active": True})
    assert active.status_code == 200, active.text


def _as_seller(emu: EmulatorServer) -> httpx.Client:
    token = emu.access_token(user_id=SELLER)
    return httpx.Client(base_url=emu.base_url + "/crm/v8",
                        headers={"Authorization": f"Zoho-oauthtoken {token}"}, timeout=30)


def _customer(live: LiveServer, name: str) -> Any:
    with live.container.session_factory() as session:
        return session.execute(select(customers).where(customers.c.name == name)).first()


def _record_reads(emu: EmulatorServer) -> int:
    """Record reads of any module (the emulator counts calls per route template)."""
    calls = emu.control("stats")["calls"]
    return int(calls.get("GET {module}", 0)) + int(calls.get("GET {module}/{id}", 0))


def _pushed(live: LiveServer) -> bool:
    with live.container.session_factory() as session:
        states = set(session.scalars(select(Job.status).where(Job.task == "zoho_crm.push")))
    return bool(states) and not states & {QUEUED, RUNNING}


def _settled(live: LiveServer, emu: EmulatorServer) -> bool:
    with live.container.session_factory() as session:
        busy = session.scalar(select(Job.id).where(Job.task == "zoho_crm.hints",
                                                   Job.status.in_([QUEUED, RUNNING])).limit(1))
    return busy is None and emu.control("notifications/deliveries")["pending"] == 0


def test_crm_edits_reach_alix_through_callbacks(
    world: tuple[LiveServer, EmulatorServer, httpx.Client]
) -> None:
    live, emu, http = world
    container = live.container
    with container.session_factory() as session:
        connection = connected(session, live.admin.organisation_id)
    # Activating Customers queued the channels task: the channel comes without asking.

    def live_channel() -> str | None:
        with container.session_factory() as session:
            stored = channels_of(session, connection.id)
        return stored[0].channel_id if stored and stored[0].expires_at else None

    channel_id = eventually(live_channel, "the notification channel")
    # The next run of the channels task waits until a day before the granted expiry. The task
    # queues it after storing the channel, in a transaction of its own: wait for it too.

    def queued_renewal() -> Job | None:
        with container.session_factory() as session:
            return session.scalars(select(Job).where(Job.task == "zoho_crm.channels",
                                                     Job.status == QUEUED)).one_or_none()

    renewal = eventually(queued_renewal, "the channel's renewal")
    assert renewal.run_after - container.clock() > timedelta(days=4)

    with _as_seller(emu) as crm:
        created = crm.post("/Accounts", json={"data": [
            {"Account_Name": "Maple Syrup Co", "Currency": "CAD"}]})
        assert created.status_code == 201, created.text
        account_id = created.json()["data"][0]["details"]["id"]
        eventually(lambda: _customer(live, "Maple Syrup Co"), "the new customer")

        # Every callback twice, and two edits delivered newest first.
        emu.control("notifications/faults", {"duplicate_rate": 1.0, "reorder_window": 2})
        for name in ("Maple Syrup Company", "Maple Syrup Company Ltd"):
            edited = crm.put(f"/Accounts/{account_id}", json={"data": [{"Account_Name": name}]})
            assert edited.status_code == 200, edited.text
        latest = eventually(lambda: _customer(live, "Maple Syrup Company Ltd"),
                            "the edited customer")
        eventually(lambda: True if _settled(live, emu) else None, "the callbacks to settle")
    counts = emu.control("notifications/deliveries")["counts"]
    assert counts.get("duplicated", 0) >= 2
    final = _customer(live, "Maple Syrup Company Ltd")
    assert final is not None and final.id == latest.id
    assert final.version == latest.version  # repeats and the older edit changed nothing
    assert _customer(live, "Maple Syrup Company") is None

    forged = httpx.post(f"{live.base_url}/integrations/zoho-crm/notifications/{channel_id}",
                        json={"channel_id": channel_id, "token": "forged", "module": "Accounts",
                              "ids": [account_id], "operation": "update"})
    assert forged.status_code == 403
    assert forged.json() == {"detail": "Forbidden."}

    # An edit made in ALIX is pushed; Zoho's callback for our own write carries the affected
    # values, which equal the link's base: the hint is closed without reading the record again.
    emu.control("notifications/faults", {})
    reads_before = _record_reads(emu)
    renamed = http.patch(f"/api/v1/customers/{final.id}", json={"name": "Maple Syrup Inc"},
                         headers={"X-CSRF-Token": _csrf(http), "Accept": "application/json"})
    assert renamed.status_code == 200, renamed.text
    eventually(lambda: True if _pushed(live) else None, "the push to finish")
    eventually(lambda: True if _settled(live, emu) else None, "our own echo to settle")
    assert _record_reads(emu) - reads_before == 1  # only the push's check before writing
    with _as_seller(emu) as crm:
        stored = crm.get(f"/Accounts/{account_id}").json()["data"][0]
    assert stored["Account_Name"] == "Maple Syrup Inc"
    assert _customer(live, "Maple Syrup Inc").version == final.version + 1

    # Switching Customers off deletes the channel on both sides.
    assert _api(http, "PATCH", "/modules/customers", {"active": False}).status_code == 200
    eventually(lambda: True if live_channel() is None else None, "the channel to go")
    watched = httpx.get(f"{emu.base_url}/crm/v8/actions/watch",
                        headers={"Authorization": f"Zoho-oauthtoken {emu.access_token()}"})
    assert watched.status_code == 204, watched.text
