"""The emulator and the callback sink, shared by every scenario of the module (each scenario
resets the emulator); the database comes from the root `engine` fixture, wiped per scenario,
on SQLite unless CONVERGENCE_BACKEND=postgres."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from zoho_emulator.receiver import CallbackReceiver
from zoho_emulator.testing import EmulatorServer


@pytest.fixture
def backend() -> str:
    """One database per run, not both: the scenarios are about the sync, not the storage."""
    return os.environ.get("CONVERGENCE_BACKEND", "sqlite")


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="module")
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as hooks:
        yield hooks
