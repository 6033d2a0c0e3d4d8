"""The progress of `alix sync`: one bar per Zoho module, by its label, with rate and time left.

The numbers come from the run's row (what each committed page recorded), read each time the
pull reports a page; the display shows something from the first second ("Connecting to Zoho
CRM…"), because counting and the first page can take several seconds. A count is shown as a
total only while it can be one: a module reads more than Zoho counted when records change during
the run or rejected ones are fetched again, and "741/732" would be untrue.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from alix.integrations.zoho_crm.sync.store.runs import ModuleProgress, Run, RunStatus

CONNECTING = "Connecting to Zoho CRM and reading…"


def module_label(module: str) -> str:
    """People read labels, not API names: "Billing_Addresses" -> "Billing addresses"."""
    return module.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Bar:
    """One module's bar: records read, and its total when one is known and not passed."""

    label: str
    done: int
    total: int | None
    finished: bool


def bars(progress: Mapping[str, ModuleProgress], run_finished: bool) -> list[Bar]:
    """The run's modules in walk order. A module is finished when the run is, or when a later
    module has started reading; a finished module's total is what it read."""
    modules = list(progress.items())
    shown = []
    for index, (module, p) in enumerate(modules):
        finished = run_finished or any(later.done for _, later in modules[index + 1:])
        total = p.done if finished else (p.total if p.total is not None and
                                         p.total >= p.done else None)
        shown.append(Bar(module_label(module), p.done, total, finished))
    return shown


def count_text(bar: Bar) -> str:
    """ "200/732" while the total holds, "741" once it does not (never "741/732")."""
    return f"{bar.done}/{bar.total}" if bar.total is not None else str(bar.done)


def seconds_text(seconds: float) -> str:
    seconds = max(int(seconds + 0.5), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s" if minutes < 60 else \
        f"{minutes // 60} h {minutes % 60:02d} min"


def plain_line(bar: Bar, rate: float) -> str:
    """One committed page, for logs: "Accounts: 200/732, 146 records/s, about 4 s left"."""
    left = ""
    if bar.total is not None and not bar.finished and rate > 0 and bar.total > bar.done:
        left = f", about {seconds_text((bar.total - bar.done) / rate)} left"
    return f"Zoho CRM sync: {bar.label}: {count_text(bar)}, {rate:.0f} records/s{left}"


def advanced(before: Mapping[str, ModuleProgress], now: Mapping[str, ModuleProgress]
             ) -> str | None:
    """The module a page just read (the last in walk order whose count moved), or None."""
    moved = [m for m, p in now.items() if p.done > before.get(m, ModuleProgress(0, None)).done]
    return moved[-1] if moved else None


class SyncDisplay(Protocol):
    def start(self) -> None: ...
    def show(self, run: Run) -> None: ...
    def stop(self) -> None: ...


class PlainDisplay:
    """Lines on stderr without escape codes: a line at the start and one per committed page."""

    def __init__(self, stream: Callable[[], TextIO] = lambda: sys.stderr,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream  # looked up at each write: a caller may wrap sys.stderr
        self._clock = clock
        self._started = clock()
        self._seen: Mapping[str, ModuleProgress] = {}

    def _print(self, line: str) -> None:
        print(line, file=self._stream(), flush=True)

    def start(self) -> None:
        self._started = self._clock()
        self._print(f"Zoho CRM sync: {CONNECTING}")

    def show(self, run: Run) -> None:
        module = advanced(self._seen, run.progress)
        self._seen = dict(run.progress)
        if module is None or run.status is not RunStatus.RUNNING:
            return
        rate = run.done / max(self._clock() - self._started, 1e-3)
        shown = bars(run.progress, run_finished=False)
        self._print(plain_line(shown[list(run.progress).index(module)], rate))

    def stop(self) -> None:
        pass


class _Count(ProgressColumn):
    def render(self, task: Task) -> Text:
        done = int(task.completed)
        return Text(f"{done}/{int(task.total)}" if task.total is not None else
                    (str(done) if task.fields.get("module") else ""), style="progress.download")


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:.0f} records/s",
                    style="progress.data.speed")


class RichDisplay:
    """Live bars on a terminal: a spinner at once, then one bar per module."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(), TextColumn("[progress.description]{task.description}"),
            BarColumn(), _Count(), _Rate(), TimeRemainingColumn(), console=console,
            refresh_per_second=8)
        self._connecting: TaskID | None = None
        self._tasks: dict[str, TaskID] = {}

    def start(self) -> None:
        self._progress.start()
        self._connecting = self._progress.add_task(CONNECTING, total=None)

    def show(self, run: Run) -> None:
        if self._connecting is not None:
            self._progress.remove_task(self._connecting)
            self._connecting = None
        for bar in bars(run.progress, run.status is not RunStatus.RUNNING):
            if bar.label not in self._tasks:
                self._tasks[bar.label] = self._progress.add_task(bar.label, total=bar.total,
                                                                 module=True)
            task_id = self._tasks[bar.label]
            self._progress.update(task_id, completed=bar.done, total=bar.total)
            if bar.total is None:  # update() only ever sets a total: unset a passed one here
                for task in self._progress.tasks:
                    if task.id == task_id:
                        task.total = None

    def stop(self) -> None:
        self._progress.stop()


def display_for(streams: Sequence[TextIO], console: Console | None = None) -> SyncDisplay:
    """Rich bars when every stream is a terminal (Rich honours FORCE_COLOR, TTY_COMPATIBLE and
    TERM=dumb), plain lines otherwise: `alix sync > log` logs no escape codes."""
    console = console or Console(stderr=True)
    terminal = console.is_terminal and all(Console(file=s).is_terminal for s in streams)
    return RichDisplay(console) if terminal else PlainDisplay()
