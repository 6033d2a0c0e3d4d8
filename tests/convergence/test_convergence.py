"""The sync never loses an edit: randomized scenarios on both sides, checked once quiet.

`make test` runs the 20 fixed seeds 1..20. `CONVERGENCE_SCENARIOS=500` runs seeds 1..500 (the
soak); `CONVERGENCE_SEED=1234` (or `=12,34`) replays scenarios, as does `-k seed_12` among the
seeds being run. `CONVERGENCE_BACKEND=postgres` runs them on PostgreSQL instead of SQLite.
A failure prints the seed, the policies, each broken invariant and the users' last actions.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine

from zoho_emulator.receiver import CallbackReceiver
from zoho_emulator.testing import EmulatorServer

from .scenario import run_scenario

FIXED = 20


def _seeds() -> list[int]:
    if os.environ.get("CONVERGENCE_SEED"):
        return [int(s) for s in os.environ["CONVERGENCE_SEED"].split(",")]
    return list(range(1, int(os.environ.get("CONVERGENCE_SCENARIOS", FIXED)) + 1))


@pytest.mark.parametrize("seed", _seeds(), ids=lambda s: f"seed_{s}")
def test_edits_converge(seed: int, backend: str, engine: Engine, emu: EmulatorServer,
                        receiver: CallbackReceiver) -> None:
    outcome = run_scenario(seed, engine, emu, receiver)
    assert not outcome.failures, outcome.report()
