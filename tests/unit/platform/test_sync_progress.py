"""What `alix sync` shows while it runs: bars per module by label, never a count past its total."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from alix.console.sync_progress import (
    Bar,
    PlainDisplay,
    RichDisplay,
    bars,
    count_text,
    plain_line,
)
from alix.integrations.zoho_crm.sync.store.runs import ModuleProgress, Run, RunKind, RunStatus


def _run(progress: dict[str, ModuleProgress], status: RunStatus = RunStatus.RUNNING) -> Run:
    return Run(1, RunKind.INITIAL, status, 1, datetime(2026, 11, 29, tzinfo=UTC), None, {},
               progress, None)


def test_a_count_past_its_total_or_a_total_of_zero_is_not_shown_as_a_total() -> None:
    shown = bars({"Accounts": ModuleProgress(741, 732), "Contacts": ModuleProgress(0, 0),
                  "Billing_Addresses": ModuleProgress(144, 0)}, run_finished=False)
    # Accounts is done (a later module has started): its total is what it read.
    assert [count_text(b) for b in shown] == ["741/741", "0/0", "144"]
    assert [b.label for b in shown] == ["Accounts", "Contacts", "Billing addresses"]
    running = bars({"Accounts": ModuleProgress(741, 732), "Contacts": ModuleProgress(0, 1021)},
                   run_finished=False)
    assert [count_text(b) for b in running] == ["741", "0/1021"]
    ended = bars({"Accounts": ModuleProgress(200, 1021)}, run_finished=True)
    assert count_text(ended[0]) == "200/200" and ended[0].finished


def test_a_plain_line_says_rate_and_time_left_only_when_it_is_known() -> None:
    assert plain_line(Bar("Accounts", 200, 732, False), 133.0) == (
        "Zoho CRM sync: Accounts: 200/732, 133 records/s, about 4 s left")
    assert plain_line(Bar("Accounts", 741, None, False), 133.0) == (
        "Zoho CRM sync: Accounts: 741, 133 records/s")


def test_plain_display_prints_at_once_then_one_line_per_committed_page() -> None:
    out = io.StringIO()
    now = iter([0.0, 0.0, 2.0, 4.0, 5.0])
    display = PlainDisplay(stream=lambda: out, clock=lambda: next(now))
    display.start()
    display.show(_run({"Accounts": ModuleProgress(0, 400), "Contacts": ModuleProgress(0, 10)}))
    display.show(_run({"Accounts": ModuleProgress(200, 400), "Contacts": ModuleProgress(0, 10)}))
    display.show(_run({"Accounts": ModuleProgress(410, 400), "Contacts": ModuleProgress(0, 10)}))
    display.show(_run({"Accounts": ModuleProgress(410, 400), "Contacts": ModuleProgress(10, 10)}))
    display.show(_run({"Accounts": ModuleProgress(410, 400), "Contacts": ModuleProgress(10, 10)},
                      RunStatus.SUCCEEDED))
    assert out.getvalue().splitlines() == [
        "Zoho CRM sync: Connecting to Zoho CRM and reading…",
        "Zoho CRM sync: Accounts: 200/400, 100 records/s, about 2 s left",
        "Zoho CRM sync: Accounts: 410, 102 records/s",
        "Zoho CRM sync: Contacts: 10/10, 84 records/s",
    ]


def test_rich_display_shows_bars_by_label_and_never_a_count_past_its_total() -> None:
    out = io.StringIO()
    display = RichDisplay(Console(file=out, force_terminal=True, width=120))
    display.start()
    display.show(_run({"Accounts": ModuleProgress(200, 732),
                       "Billing_Addresses": ModuleProgress(0, None)}))
    display.show(_run({"Accounts": ModuleProgress(741, 732),
                       "Billing_Addresses": ModuleProgress(0, None)}))
    display.stop()
    final = out.getvalue().split("\x1b[2K")[-2:]  # the last frame drawn, one line per module
    text = "".join(final)
    assert "Accounts" in text and "Billing addresses" in text
    assert "741" in text and "741/732" not in text
    assert "Connecting" not in text
