"""FakeZohoCrm: an in-memory ZohoCrm for the sync's tests, held honest by the contract suite."""

from __future__ import annotations

import copy
import itertools
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from alix.clock import Clock, utc_now

from .criteria import matches
from .errors import RequestRejected, SchemaMismatch, record_error
from .fieldsets import split_fields
from .timestamps import format_datetime, parse_datetime
from .wire import (
    BulkReadJob,
    Channel,
    CoqlPage,
    Currency,
    DeletedRecord,
    Field,
    Module,
    Org,
    Record,
    User,
    WriteFailure,
    WriteResult,
    WriteSuccess,
)
from .written import announce_written

# System-mandatory and system-unique fields (doc 4.3, 4.5).
MANDATORY = {"Accounts": "Account_Name", "Contacts": "Last_Name", "Leads": "Last_Name"}
UNIQUE = {"Accounts": "Account_Name", "Contacts": "Email", "Leads": "Email"}
_CUSTOM_MANDATORY = "Name"


def _text_field(name: str) -> Field:
    return Field(api_name=name, label=name.replace("_", " "), data_type="text", json_type="string")


def _default_fields(module: str) -> list[Field]:
    own = {
        "Accounts": ["Account_Name", "Website", "Phone", "Billing_City", "Billing_Country"],
        "Contacts": ["Last_Name", "First_Name", "Email", "Phone", "Account_Name"],
    }.get(module, [_CUSTOM_MANDATORY])
    system = [
        Field("Modified_Time", "Modified Time", "datetime", "string", read_only=True),
        Field("Created_Time", "Created Time", "datetime", "string", read_only=True),
    ]
    return [_text_field(n) for n in own] + system


class FakeZohoCrm:
    """Zoho CRM in memory: records, metadata, channels and bulk jobs, with Zoho's write rules.

    What it models: mandatory and unique fields per module (MANDATORY_NOT_FOUND,
    DUPLICATE_DATA naming the existing record), locked records (`Locked__s`), one result per
    input record, Modified_Time in seconds, the deleted-records list, the 2,000-record search
    cap. Search criteria and COQL cover the subset the integration uses.
    """

    def __init__(
        self, *, clock: Clock = utc_now, modules: Sequence[str] = ("Accounts", "Contacts")
    ):
        self._clock = clock
        self._ids: Callable[[], int] = itertools.count(5725767000004100001).__next__
        self.records: dict[str, dict[str, dict[str, Any]]] = {m: {} for m in modules}
        self.field_defs: dict[str, list[Field]] = {m: _default_fields(m) for m in modules}
        self.deleted: dict[str, list[DeletedRecord]] = {m: [] for m in modules}
        self.channels: dict[str, Channel] = {}
        self.jobs: dict[str, list[dict[str, str]]] = {}
        self.calls = 0
        # Calls by operation, for tests that bound what a sync asks (e.g. "deleted").
        self.asked: Counter[str] = Counter()
        # The Zoho user the calls act as: stamped on what they write, as Zoho does.
        self.acting_user: dict[str, str] = {"id": "5725767000000411001", "name": "Fake Admin",
                                            "email": "admin@example.com"}

    def add_fields(self, module: str, names: Sequence[str]) -> None:
        """Give `module` extra text fields (e.g. custom fields)."""
        self.field_defs[module].extend(_text_field(n) for n in names)

    def _module(self, module: str) -> dict[str, dict[str, Any]]:
        self.calls += 1
        announce_written()
        if module not in self.records:
            raise SchemaMismatch(
                f"Zoho refused the call: module {module!r} does not exist.", code="INVALID_MODULE"
            )
        return self.records[module]

    def _now(self) -> str:
        return format_datetime(self._clock())

    def _new_id(self) -> str:
        return str(self._ids())

    async def modules(self) -> list[Module]:
        self.calls += 1
        return [
            Module(m, m, m.rstrip("s"), m, str(i), "default", True, True, True, True)
            for i, m in enumerate(self.records)
        ]

    async def fields(self, module: str, *, refresh: bool = False) -> list[Field]:
        self._module(module)
        return list(self.field_defs[module])

    async def org(self) -> Org:
        self.calls += 1
        return Org("1", "Fake Org", "UTC", "EUR", False, "Production")

    async def current_user(self) -> User:
        self.calls += 1
        return User("5725767000000411001", "Fake Admin", "admin@example.com", "UTC")

    async def currencies(self) -> list[Currency]:
        self.calls += 1
        return []

    def _project(self, row: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
        wanted = ("id", "Modified_Time", "Created_Time", *fields)
        return {k: copy.deepcopy(row[k]) for k in wanted if k in row}

    async def iter_records(
        self, module: str, fields: Sequence[str], *, modified_since: datetime | None = None
    ) -> AsyncIterator[Record]:
        table = self._module(module)
        split_fields(fields)  # same validation of the field list as the client
        rows = sorted(table.values(), key=lambda r: (parse_datetime(r["Modified_Time"]), r["id"]))
        for row in rows:
            if modified_since and parse_datetime(row["Modified_Time"]) < modified_since.replace(
                microsecond=0
            ):
                continue
            yield Record.from_json(self._project(row, fields))

    async def get_records(
        self, module: str, ids: Sequence[str], fields: Sequence[str] = ()
    ) -> list[Record]:
        table = self._module(module)
        names = fields or [f.api_name for f in self.field_defs[module]]
        return [Record.from_json(self._project(table[i], names)) for i in ids if i in table]

    def _error(
        self, module: str, index: int, code: str, field: str, **details: Any
    ) -> WriteFailure:
        entry = {
            "code": code,
            "status": "error",
            "message": code.lower().replace("_", " "),
            "details": {"api_name": field, "json_path": f"$.data[{index}].{field}", **details},
        }
        return WriteFailure(index, record_error(entry, module=module, index=index))

    def _duplicate(
        self, module: str, row: Mapping[str, Any], keys: Sequence[str], own_id: str | None
    ) -> tuple[str, dict[str, Any]] | None:
        for key in keys:
            value = row.get(key)
            if value in (None, ""):
                continue
            for other in self.records[module].values():
                if other["id"] != own_id and str(other.get(key, "")).lower() == str(value).lower():
                    return key, other
        return None

    def _store(
        self, module: str, index: int, row: dict[str, Any], action: str | None
    ) -> WriteSuccess:
        now = self._now()
        table = self.records[module]
        existing = table.get(row.get("id", ""))
        if existing is None:
            row = {**row, "id": self._new_id(), "Created_Time": now,
                   "Created_By": dict(self.acting_user)}
        merged = {**(existing or {}), **row, "Modified_Time": now,
                  "Modified_By": dict(self.acting_user)}
        table[merged["id"]] = merged
        return WriteSuccess(
            index=index,
            id=merged["id"],
            modified_time=parse_datetime(now),
            created_time=parse_datetime(merged["Created_Time"]),
            action=action,
        )

    def _write_one(
        self, verb: str, module: str, index: int, data: Mapping[str, Any], keys: Sequence[str]
    ) -> WriteResult:
        row = {
            k: copy.deepcopy(v)
            for k, v in data.items()
            if k not in ("Modified_Time", "Created_Time", "Modified_By", "Created_By")
        }
        table = self.records[module]
        mandatory = MANDATORY.get(module, _CUSTOM_MANDATORY)
        unique = list(keys) or [UNIQUE.get(module, _CUSTOM_MANDATORY)]
        if verb == "upsert":
            match = self._duplicate(module, row, unique, None)
            if match is not None:
                row["id"] = match[1]["id"]
            verb = "update" if match else "insert"
            action: str | None = verb
        else:
            action = None
        if verb == "insert":
            row.pop("id", None)
            if row.get(mandatory) in (None, ""):
                return self._error(module, index, "MANDATORY_NOT_FOUND", mandatory)
        else:
            if not row.get("id"):
                return self._error(module, index, "MANDATORY_NOT_FOUND", "id")
            current = table.get(str(row["id"]))
            if current is None:
                return self._error(module, index, "INVALID_DATA", "id", id=row["id"])
            if current.get("Locked__s"):
                return self._error(module, index, "RECORD_LOCKED", "id", id=row["id"])
            if mandatory in row and row[mandatory] in (None, ""):
                return self._error(module, index, "MANDATORY_NOT_FOUND", mandatory)
        clash = self._duplicate(module, row, [UNIQUE.get(module, _CUSTOM_MANDATORY)], row.get("id"))
        if clash is not None:
            key, other = clash
            duplicate = {"id": other["id"], "module": {"api_name": module}}
            return self._error(module, index, "DUPLICATE_DATA", key, duplicate_record=duplicate)
        return self._store(module, index, row, action)

    async def _write(
        self, verb: str, module: str, records: Sequence[Mapping[str, Any]], keys: Sequence[str] = ()
    ) -> list[WriteResult]:
        self._module(module)
        return [self._write_one(verb, module, i, r, keys) for i, r in enumerate(records)]

    async def insert(
        self, module: str, records: Sequence[Mapping[str, Any]], *, trigger: Sequence[str] = ()
    ) -> list[WriteResult]:
        return await self._write("insert", module, records)

    async def update(
        self, module: str, records: Sequence[Mapping[str, Any]], *, trigger: Sequence[str] = ()
    ) -> list[WriteResult]:
        return await self._write("update", module, records)

    async def upsert(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        *,
        duplicate_check_fields: Sequence[str] = (),
        trigger: Sequence[str] = (),
    ) -> list[WriteResult]:
        return await self._write("upsert", module, records, duplicate_check_fields)

    async def delete(
        self, module: str, ids: Sequence[str], *, run_workflows: bool = False
    ) -> list[WriteResult]:
        table = self._module(module)
        results: list[WriteResult] = []
        for index, rid in enumerate(ids):
            row = table.get(rid)
            if row is None:
                results.append(self._error(module, index, "INVALID_DATA", "id", id=rid))
                continue
            if row.get("Locked__s"):
                results.append(self._error(module, index, "RECORD_LOCKED", "id", id=rid))
                continue
            del table[rid]
            now = self._clock().replace(microsecond=0)
            name = row.get(MANDATORY.get(module, _CUSTOM_MANDATORY))
            self.deleted[module].append(DeletedRecord(rid, now, "recycle", name))
            results.append(WriteSuccess(index=index, id=rid, modified_time=None))
        return results

    async def deleted_since(self, module: str, since: datetime | None) -> list[DeletedRecord]:
        self._module(module)
        self.asked["deleted"] += 1
        found = [
            d
            for d in self.deleted[module]
            if since is None or (d.deleted_time and d.deleted_time >= since.replace(microsecond=0))
        ]
        return sorted(found, key=lambda d: (d.deleted_time is not None, d.deleted_time, d.id))

    async def count(self, module: str, criteria: str | None = None) -> int:
        table = self._module(module)
        return sum(1 for r in table.values() if criteria is None or matches(r, criteria))

    async def search(self, module: str, criteria: str, fields: Sequence[str] = ()) -> list[Record]:
        table = self._module(module)
        names = fields or [f.api_name for f in self.field_defs[module]]
        hits = [r for r in table.values() if matches(r, criteria)][:2000]
        return [Record.from_json(self._project(r, names)) for r in hits]

    async def coql(self, query: str) -> CoqlPage:
        match = re.match(
            r"\s*select\s+(.+?)\s+from\s+(\w+)(?:\s+where\s+(.+?))?(?:\s+limit\s+(\d+)(?:\s*,\s*(\d+))?)?\s*$",
            query,
            re.IGNORECASE,
        )
        if match is None:
            raise RequestRejected(f"COQL the fake cannot read: {query!r}.", code="SYNTAX_ERROR")
        columns, module, where, first, second = match.groups()
        table = self._module(module)
        rows = sorted(table.values(), key=lambda r: r["id"])
        if where and not re.fullmatch(r"id\s+is\s+not\s+null", where.strip(), re.IGNORECASE):
            cond = re.fullmatch(r"(\w+)\s*=\s*'((?:''|[^'])*)'", where.strip())
            if cond is None:
                raise RequestRejected(f"COQL condition the fake cannot read: {where!r}.")
            key, value = cond.group(1), cond.group(2).replace("''", "'")
            rows = [r for r in rows if str(r.get(key)) == value]
        offset, limit = (int(first), int(second)) if second else (0, int(first or 200))
        names = [c.strip() for c in columns.split(",")]
        window = rows[offset : offset + limit]
        return CoqlPage(
            rows=[{"id": r["id"], **{n: r.get(n) for n in names}} for r in window],
            more_records=offset + limit < len(rows),
        )

    async def create_channel(
        self,
        channel_id: str,
        events: Sequence[str],
        notify_url: str,
        *,
        token: str | None = None,
        expires_at: datetime | None = None,
    ) -> Channel:
        self.calls += 1
        if token is not None and len(token) > 50:
            raise RequestRejected("A Zoho notification token may not exceed 50 characters.")
        now = self._clock().replace(microsecond=0)
        expiry = expires_at or now + timedelta(hours=1)
        if expiry > now + timedelta(weeks=1):
            expiry = now + timedelta(hours=1)  # over the maximum falls back to the default
        channel = Channel(
            channel_id, tuple(events), notify_url, token, expiry.replace(microsecond=0)
        )
        self.channels[channel_id] = channel
        return channel

    async def renew_channel(self, channel_id: str, expires_at: datetime) -> Channel:
        self.calls += 1
        current = self.channels.get(channel_id)
        if current is None:
            raise RequestRejected(
                f"Zoho notification channel {channel_id} does not exist (expired or deleted).",
                code="NOT_SUBSCRIBED",
            )
        renewed = Channel(
            channel_id,
            current.events,
            current.notify_url,
            current.token,
            expires_at.replace(microsecond=0),
        )
        self.channels[channel_id] = renewed
        return renewed

    async def list_channels(self) -> list[Channel]:
        self.calls += 1
        now = self._clock()
        return [c for c in self.channels.values() if c.expires_at is None or c.expires_at > now]

    async def delete_channels(self, channel_ids: Sequence[str]) -> None:
        self.calls += 1
        for channel_id in channel_ids:
            self.channels.pop(channel_id, None)

    async def create_bulk_read(
        self, module: str, fields: Sequence[str], *, modified_since: datetime | None = None
    ) -> BulkReadJob:
        names = list(dict.fromkeys(["id", "Modified_Time", *fields]))
        rows = [
            {n: "" if r.values.get(n) is None else str(r.values.get(n)) for n in names}
            async for r in self.iter_records(module, fields, modified_since=modified_since)
        ]
        job_id = self._new_id()
        self.jobs[job_id] = rows
        return BulkReadJob(id=job_id, state="ADDED")

    async def bulk_records(
        self, module: str, fields: Sequence[str], *, modified_since: datetime | None = None
    ) -> AsyncIterator[Record]:
        """What the listing gives, in id order as a bulk read's CSV comes (not by time)."""
        self.asked["bulk"] += 1
        found = [r async for r in self.iter_records(module, fields,
                                                    modified_since=modified_since)]
        for record in sorted(found, key=lambda r: int(r.id)):
            yield record

    async def bulk_read_status(self, job_id: str) -> BulkReadJob:
        self.calls += 1
        if job_id not in self.jobs:
            raise RequestRejected(
                f"Bulk read job {job_id} does not exist.", code="RESOURCE_NOT_FOUND"
            )
        return BulkReadJob(id=job_id, state="COMPLETED", count=len(self.jobs[job_id]))

    async def download_bulk_read(self, job_id: str) -> AsyncIterator[dict[str, str]]:
        await self.bulk_read_status(job_id)
        for row in self.jobs[job_id]:
            yield dict(row)
