"""One emulator and one callback receiver per module, both reset before each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.emulator_clients import ClientFactory, api, client_for
from zoho_emulator.features import features
from zoho_emulator.receiver import CallbackReceiver
from zoho_emulator.testing import EmulatorServer

WATCH = "/crm/v8/actions/watch"
SECOND_USER = "5725767000000411002"



@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server
        # The callback and bulk threads go before the server and receiver do.
        features(server.state).close()


@pytest.fixture(scope="module")
def hooks(emu: EmulatorServer) -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as receiver:
        yield receiver
        features(emu.state).close()


@pytest.fixture(autouse=True)
def _reset(emu: EmulatorServer, hooks: CallbackReceiver) -> None:
    emu.control("reset")
    hooks.clear()
    hooks.status = 200


def watch(api: httpx.Client, hooks: CallbackReceiver, channel_id: str = "1000000068001",
          events: list[str] | None = None, **extra: Any) -> httpx.Response:
    item = {"channel_id": channel_id, "events": events or ["Accounts.all"],
            "notify_url": hooks.url("/zoho?src=crm"), "token": "s3cr3t-verify-1", **extra}
    answer = api.post(WATCH, json={"watch": [item]})
    return answer


def create_account(api: httpx.Client, name: str, **fields: Any) -> str:
    answer = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": name, **fields}]})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["data"][0]["details"]["id"])

__all__ = ["ClientFactory", "api", "client_for"]
