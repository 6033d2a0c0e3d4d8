"""Bulk read jobs: criteria, the ADDED -> IN PROGRESS -> COMPLETED lifecycle, zip-of-CSV results.

A job snapshots the module's records when it is created (stored records are replaced, never
mutated, so the snapshot is a list of references) and builds its CSV in a worker thread.
One job exports at most 200,000 rows (`page` 2 = rows 200,001-400,000, or the finished job's
`next_page_token`). CSV: header of API names with `id` first, lookups and users as ids,
datetimes ISO 8601 in the creating user's offset, booleans `true`/`false`, empty for null
(README, Part 2 decisions). The zip holds one file, `{job_id}.csv`.
"""

from __future__ import annotations

import csv
import io
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .conditions import ConditionError, Predicate, all_of, any_of, compile_condition
from .orgs import Org, User
from .query import resolve
from .render import format_time
from .schema import Module
from .store import Record

PAGE_ROWS = 200_000
EMPTY = "${EMPTY}"
COMPARATORS = {"equal": "eq", "not_equal": "ne", "in": "in", "not_in": "not_in",
               "less_than": "lt", "less_equal": "le", "greater_than": "gt",
               "greater_equal": "ge", "contains": "contains", "not_contains": "not_contains",
               "starts_with": "starts", "ends_with": "ends", "between": "between",
               "not_between": "not_between"}


class BulkError(ValueError):
    """A job request Zoho refuses; `code` and `details` go into the 400 envelope."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


def compile_bulk_criteria(raw: Any, module: Module) -> Predicate:
    """`{"group_operator", "group": [...]}` (nested) or one `{"field", "comparator", "value"}`."""
    if not isinstance(raw, dict):
        raise BulkError("INVALID_DATA", "invalid data", {"api_name": "criteria"})
    if "group" in raw:
        operator = str(raw.get("group_operator", "and")).lower()
        group = raw["group"]
        if operator not in ("and", "or") or not isinstance(group, list) or not group:
            raise BulkError("AMBIGUOUS_CRITERIA", "the criteria is ambiguous",
                            {"api_name": "criteria"})
        parts = [compile_bulk_criteria(item, module) for item in group]
        return all_of(parts) if operator == "and" else any_of(parts)
    name = str((raw.get("field") or {}).get("api_name") or raw.get("api_name") or "")
    f = module.fields.get(name)
    comparator = str(raw.get("comparator", ""))
    if f is None:
        raise BulkError("INVALID_DATA", "invalid data", {"api_name": name or "field"})
    if comparator not in COMPARATORS:
        raise BulkError("FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED",
                        "the comparator is not supported for the field",
                        {"api_name": name, "comparator": comparator})
    value = raw.get("value")
    op = COMPARATORS[comparator]
    if value == EMPTY and op in ("eq", "ne"):
        op = "null" if op == "eq" else "not_null"
    values = list(value) if isinstance(value, list) else [value]
    try:
        return compile_condition(f, op, values)
    except ConditionError as error:
        raise BulkError("COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE", error.reason,
                        {"api_name": name, "comparator": comparator}) from None


def _cell(kind: str, value: Any, user: User) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "datetime" and isinstance(value, int | float):
        return format_time(value, user.zone)
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def write_csv(org: Org, module: Module, user: User, names: list[str],
              rows: list[tuple[int, Record]]) -> str:
    """The CSV text of `rows`: header `id` + `names`, one line per record."""
    columns = [resolve(org, module, n, "select") for n in names]
    getters: list[tuple[str, Callable[[Record], Any]]] = [
        (c.field.data_type, c.get) for c in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", *names])
    for rid, rec in rows:
        writer.writerow([rid, *(_cell(kind, get(rec), user) for kind, get in getters)])
    return out.getvalue()


def zip_csv(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


@dataclass
class Job:
    """One bulk read job; `state` moves ADDED -> IN PROGRESS -> COMPLETED (or FAILURE)."""

    id: str
    org: Org
    user: User
    module: Module
    names: list[str]
    snapshot: list[tuple[int, Record]]
    predicate: Predicate | None
    page: int
    offset: int
    created: int
    callback_url: str | None = None
    criteria_key: str = ""
    state: str = "ADDED"
    count: int = 0
    more_records: bool = False
    next_offset: int | None = None
    next_page_token: str | None = None
    result: bytes | None = None
    completed_at: float | None = None
    error: dict[str, Any] | None = None

    def build(self) -> None:
        """Filter, cut the page, write and zip the CSV (runs in the worker thread)."""
        matched = (self.snapshot if self.predicate is None
                   else [(rid, rec) for rid, rec in self.snapshot if self.predicate(rec)])
        page = matched[self.offset:self.offset + PAGE_ROWS]
        self.count = len(page)
        self.more_records = len(matched) > self.offset + PAGE_ROWS
        self.next_offset = self.offset + PAGE_ROWS if self.more_records else None
        text = write_csv(self.org, self.module, self.user, self.names, page)
        self.result = zip_csv(f"{self.id}.csv", text)
        self.snapshot = []


@dataclass
class Runner:
    """Runs jobs in threads, each waiting `step_s` in ADDED and at least as long IN PROGRESS."""

    step_s: float = 0.05
    threads: list[threading.Thread] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self, job: Job, done: Callable[[Job, str], None], now: Callable[[], float]) -> None:
        """Run job on a thread; `done(job, final_state)` publishes the final state itself, so
        that everything a COMPLETED status shows (the next page token) is set before a poller
        can see COMPLETED."""

        def run() -> None:
            if self.stop.wait(self.step_s):
                return
            job.state = "IN PROGRESS"
            try:
                job.build()
            except Exception as error:  # a job fails as a whole, like Zoho's FAILURE state
                final = "FAILURE"
                job.error = {"code": "INTERNAL_ERROR", "message": str(error),
                             "details": {}, "status": "error"}
            else:
                if self.stop.wait(self.step_s):
                    return
                final = "COMPLETED"
            job.completed_at = now()
            done(job, final)

        self.threads = [t for t in self.threads if t.is_alive()]
        thread = threading.Thread(target=run, name=f"zoho-bulk-{job.id}", daemon=True)
        self.threads.append(thread)
        thread.start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
        self.threads.clear()
