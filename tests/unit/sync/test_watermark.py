"""watermark: inclusive lower bound, ids at the boundary second, frozen upper bound, JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from alix.integrations.zoho_crm.sync.watermark import (
    Watermark,
    advance,
    open_window,
)

T = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
NOW = T + timedelta(seconds=10, microseconds=400_000)


@dataclass(frozen=True)
class Rec:
    id: str
    modified_time: datetime | None


def s(seconds: int) -> datetime:
    return T + timedelta(seconds=seconds)


def test_the_upper_bound_is_frozen_whole_seconds_before_now() -> None:
    window = open_window(Watermark(), NOW)
    assert window.upper == s(8)
    assert open_window(Watermark(), NOW, timedelta(seconds=5)).upper == s(5)
    assert window.since is None
    assert open_window(Watermark(s(3), frozenset({"a"})), NOW).since == s(3)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        open_window(Watermark(), datetime(2026, 3, 1, 12, 0, 0))


@pytest.mark.parametrize(
    ("start", "page", "taken", "after", "reached"),
    [
        # a first run takes everything up to the upper bound
        (Watermark(), [Rec("a", s(1)), Rec("b", s(2)), Rec("c", s(2))], ["a", "b", "c"],
         Watermark(s(2), frozenset({"b", "c"})), False),
        # inclusive lower bound: ids seen at the boundary second are skipped, new ones taken
        (Watermark(s(2), frozenset({"b"})), [Rec("b", s(2)), Rec("c", s(2)), Rec("d", s(3))],
         ["c", "d"], Watermark(s(3), frozenset({"d"})), False),
        # still at the same second: the boundary ids accumulate
        (Watermark(s(2), frozenset({"b"})), [Rec("c", s(2))], ["c"],
         Watermark(s(2), frozenset({"b", "c"})), False),
        # older than the watermark: already seen
        (Watermark(s(5), frozenset({"x"})), [Rec("a", s(4)), Rec("y", s(5))], ["y"],
         Watermark(s(5), frozenset({"x", "y"})), False),
        # a record seen at the boundary and modified again later is taken again
        (Watermark(s(2), frozenset({"b"})), [Rec("b", s(4))], ["b"],
         Watermark(s(4), frozenset({"b"})), False),
        # stop at the upper bound (8): later records wait for the next run
        (Watermark(), [Rec("a", s(8)), Rec("b", s(9)), Rec("c", s(9))], ["a"],
         Watermark(s(8), frozenset({"a"})), True),
        # yielded twice within the page (modified during the walk): once, the newer version
        (Watermark(), [Rec("a", s(1)), Rec("b", s(2)), Rec("a", s(3))], ["a", "b"],
         Watermark(s(3), frozenset({"a"})), False),
        # sub-second parts are dropped: Zoho's resolution is the second
        (Watermark(s(2), frozenset({"b"})), [Rec("b", s(2) + timedelta(microseconds=5))], [],
         Watermark(s(2), frozenset({"b"})), False),
        # no Modified_Time: processed, the watermark stays
        (Watermark(s(2), frozenset({"b"})), [Rec("z", None)], ["z"],
         Watermark(s(2), frozenset({"b"})), False),
        # an empty page changes nothing
        (Watermark(s(2), frozenset({"b"})), [], [], Watermark(s(2), frozenset({"b"})), False),
    ],
)
def test_advance(
    start: Watermark, page: list[Rec], taken: list[str], after: Watermark, reached: bool
) -> None:
    window = open_window(start, NOW)
    step = advance(window, start, page)
    assert [r.id for r in step.records] == taken
    assert step.watermark == after
    assert step.reached_upper is reached


def test_the_newest_version_of_a_duplicate_is_the_one_processed() -> None:
    step = advance(open_window(Watermark(), NOW), Watermark(), [Rec("a", s(1)), Rec("a", s(3))])
    assert [r.modified_time for r in step.records] == [s(3)]


def test_replaying_a_page_is_a_no_op() -> None:
    window = open_window(Watermark(), NOW)
    page = [Rec("a", s(1)), Rec("b", s(2)), Rec("c", s(2))]
    first = advance(window, Watermark(), page)
    again = advance(window, first.watermark, page)
    assert again.records == ()
    assert again.watermark == first.watermark


def test_pages_cut_inside_a_second_lose_and_repeat_nothing_even_across_a_crash() -> None:
    records = [Rec(str(i), s(1 + i // 3)) for i in range(9)]  # three records per second
    window = open_window(Watermark(), NOW)
    first = advance(window, window.start, records[0:2])
    second = advance(window, first.watermark, records[2:5])
    # crash here: the restart asks Zoho again from the stored watermark, inclusive
    restart = [r for r in records if r.modified_time and r.modified_time >= s(2)]
    third = advance(window, second.watermark, restart)
    seen = [r.id for step in (first, second, third) for r in step.records]
    assert seen == [str(i) for i in range(9)]
    assert third.watermark == Watermark(s(3), frozenset({"6", "7", "8"}))
    unbroken = advance(window, advance(window, window.start, records[0:4]).watermark,
                       records[4:])
    assert unbroken.watermark == third.watermark


def test_json_round_trip() -> None:
    mark = Watermark(s(2), frozenset({"2", "1"}))
    data = json.loads(json.dumps(mark.to_json()))
    assert data == {"modified_time": "2026-03-01T12:00:02+00:00", "ids_at_boundary": ["1", "2"]}
    assert Watermark.from_json(data) == mark
    assert Watermark.from_json(None) == Watermark() == Watermark.from_json(Watermark().to_json())
    offset = {"modified_time": "2026-03-01T07:00:02-05:00", "ids_at_boundary": ["1"]}
    moment = Watermark.from_json(offset).modified_time
    assert moment == s(2)
    assert moment is not None and moment.tzinfo == UTC
