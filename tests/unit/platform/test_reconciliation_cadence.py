"""The reconciliation's period follows its credit share; a missed run is skipped, not replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alix.integrations.zoho_crm.sync.engine.schedule import cadence
from alix.jobs.scheduler import ScheduleSpec, next_run

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("edition", "modules", "period", "credits"), [
    ("Enterprise", 2, 300, 1_152),  # 4 calls x 288 runs: under 5 % of 50,000
    ("professional", 4, 300, 2_304),  # with both custom address modules: still under 2,500
    ("free", 2, 1_383, 250),  # 5 % of 5,000 credits
    ("", 2, 1_383, 250),  # unknown edition: counted as Free
])
def test_the_period_is_five_minutes_unless_that_passes_the_credit_share(
    edition: str, modules: int, period: int, credits: int
) -> None:
    found = cadence(edition, modules)
    assert (found.period_seconds, found.credits_per_day) == (period, credits)
    assert found.credits_per_day <= 0.05 * found.daily_credits


def test_a_larger_share_never_runs_more_often_than_the_default() -> None:
    assert cadence("free", 2, share=0.5).period_seconds == 300
    assert cadence("free", 2, share=0.01).period_seconds == 6_912
    # 8 calls a run at 5 minutes would spend 2,304 credits, more than 2 % of 50,000.
    smaller = cadence("Enterprise", 4, share=0.02)
    assert (smaller.period_seconds, smaller.credits_per_day) == (692, 999)


def test_the_next_run_keeps_the_cadence_and_skips_what_was_missed() -> None:
    assert next_run(T0, 300, T0 + timedelta(seconds=10)) == T0 + timedelta(seconds=300)
    late = T0 + timedelta(hours=3, seconds=7)
    assert next_run(T0, 300, late) == late + timedelta(seconds=300)


def test_a_schedule_needs_a_period() -> None:
    with pytest.raises(ValueError, match="at least one second"):
        ScheduleSpec("x", "task", 0)
