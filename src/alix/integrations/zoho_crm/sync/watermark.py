"""The bookmark of the incremental pull per (connection, module), and its advance over a page.

Zoho's Modified_Time has one-second resolution, so the bookmark is the last Modified_Time seen
plus the ids seen at exactly that second. A run asks for records modified at or after it
(inclusive), skips the ids already seen at the boundary second, and stops at an upper bound
frozen when the run started, a couple of seconds in the past: a second that late is closed,
so no record can still be saved with that Modified_Time, and what changes during the run is
picked up by the next one. Within a run, pages follow the client's pager; only a restart asks
again from the stored watermark (re-asking per page could loop when more than a page of records
share one second).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

# Long enough for Zoho to have finished writing the second (and our clock to be a bit off).
SETTLE = timedelta(seconds=2)


class Stamped(Protocol):
    """A record as the watermark sees it: its id and its Modified_Time."""

    @property
    def id(self) -> str: ...
    @property
    def modified_time(self) -> datetime | None: ...


R = TypeVar("R", bound=Stamped)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"The watermark refuses the naive datetime {value.isoformat()}.")
    return value.astimezone(UTC)


def _second(value: datetime) -> datetime:
    return _utc(value).replace(microsecond=0)


@dataclass(frozen=True)
class Watermark:
    """Last Modified_Time seen (None: never run) and the ids seen at exactly that second."""

    modified_time: datetime | None = None
    ids_at_boundary: frozenset[str] = frozenset()

    def seen(self, record_id: str, modified_time: datetime) -> bool:
        """True when a record at this time was processed already (before, or at the boundary)."""
        if self.modified_time is None:
            return False
        second = _second(modified_time)
        return second < self.modified_time or (
            second == self.modified_time and record_id in self.ids_at_boundary
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "modified_time": None if self.modified_time is None
            else self.modified_time.isoformat(),
            "ids_at_boundary": sorted(self.ids_at_boundary),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Watermark:
        """The inverse of to_json; None or {} is a watermark that never ran."""
        if not data or data.get("modified_time") is None:
            return cls()
        moment = datetime.fromisoformat(str(data["modified_time"]))
        return cls(_second(moment), frozenset(str(i) for i in data.get("ids_at_boundary", ())))


@dataclass(frozen=True)
class Window:
    """What one run reads: from the watermark (inclusive) up to a frozen upper bound."""

    start: Watermark
    upper: datetime

    @property
    def since(self) -> datetime | None:
        """The `modified_since` to ask Zoho for: the watermark's second itself (inclusive)."""
        return self.start.modified_time


def open_window(start: Watermark, now: datetime, settle: timedelta = SETTLE) -> Window:
    """Freeze a run's upper bound: the last whole second at least `settle` before `now`."""
    return Window(start, _second(now - settle))


@dataclass(frozen=True)
class Advance(Generic[R]):
    """One page through the window: the records to process, the new watermark, and whether
    the page reached past the upper bound (then the run stops after it)."""

    records: tuple[R, ...]
    watermark: Watermark
    reached_upper: bool


def advance(window: Window, current: Watermark, page: Iterable[R]) -> Advance[R]:
    """Process a page sorted by Modified_Time ascending; pure, so a replayed page is a no-op.

    Records already seen (before the watermark, or at its second with a known id) are skipped,
    records after the upper bound are left for the next run, a record yielded twice is
    processed once, as its newest version. A record without Modified_Time is processed
    without moving the watermark.
    """
    moment, ids = current.modified_time, set(current.ids_at_boundary)
    taken: dict[str, R] = {}  # a record yielded twice: the later (newer) one, processed once
    reached_upper = False
    for record in page:
        stamp = record.modified_time
        if stamp is None:
            taken[record.id] = record
            continue
        second = _second(stamp)
        if second > window.upper:
            reached_upper = True
            break
        # Watermark.seen, without building a watermark (and a frozenset of every id at the
        # second so far) per record: a page of records sharing one second was quadratic.
        if moment is not None and (second < moment or (second == moment and record.id in ids)):
            continue
        if moment is None or second > moment:
            moment, ids = second, {record.id}
        else:
            ids.add(record.id)
        taken[record.id] = record
    return Advance(tuple(taken.values()), Watermark(moment, frozenset(ids)), reached_upper)
