"""The full read of a module: page window, page tokens, field chunks, and restarts by time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import RequestRejected
from .fieldsets import merge_by_id, split_fields
from .records import RecordCalls
from .session import ZohoSession
from .timestamps import format_datetime
from .wire import Record

API = "/crm/v8"

# Errors that end a query but not the read: the 100,000-record page_token cap, an expired page
# token (24 h), and the 2,000-record page window should we ever step past it (doc 4.1).
RESTART_CODES = frozenset(
    {"PAGINATION_LIMIT_EXCEEDED", "EXPIRED_VALUE", "DISCRETE_PAGINATION_LIMIT_EXCEEDED"}
)


@dataclass
class _Page:
    rows: list[dict[str, Any]]
    more: bool
    token: str | None


@dataclass
class _Mark:
    """The newest Modified_Time yielded and the ids yielded at exactly that second."""

    time: datetime | None
    ids: set[str]

    def seen(self, record: Record) -> bool:
        mt = record.modified_time
        if mt is None or self.time is None:
            return False
        return mt < self.time or (mt == self.time and record.id in self.ids)

    def advance(self, record: Record) -> None:
        mt = record.modified_time
        if mt is None:
            return
        if self.time is None or mt > self.time:
            self.time, self.ids = mt, {record.id}
        elif mt == self.time:
            self.ids.add(record.id)


class RecordPager:
    """Reads every record of a module modified since a time, oldest Modified_Time first.

    Pages 1..10 of 200 cover Zoho's 2,000-record page window, then `page_token` takes over.
    When the 100,000-record token cap or an expired token ends a query, a new query starts at
    the newest Modified_Time seen (If-Modified-Since is inclusive, doc 9.4), skipping the ids
    already yielded at that second: Modified_Time has one-second resolution and imports share
    seconds, so "+1 s" would lose records.
    """

    def __init__(
        self,
        session: ZohoSession,
        records: RecordCalls,
        *,
        per_page: int = 200,
        page_window: int = 2000,
    ) -> None:
        self._session = session
        self._records = records
        self._per_page = per_page
        self._page_window = page_window
        self.queries = 0

    async def iter_records(
        self, module: str, fields: Sequence[str], modified_since: datetime | None
    ) -> AsyncIterator[Record]:
        chunks = split_fields(fields)
        mark = _Mark(modified_since, set())
        restarted = False
        while True:
            self.queries += 1
            since = mark.time
            yielded = 0
            finished = True
            async for record in self._query(module, chunks, fields, since):
                if record is None:  # the query was cut short by a cap or an expired token
                    finished = False
                    break
                if restarted and mark.seen(record):
                    continue
                mark.advance(record)
                yielded += 1
                yield record
            if finished:
                return
            if restarted and yielded == 0:
                raise RequestRejected(
                    f"Reading {module} cannot progress past Modified_Time {since}: more records "
                    "share that second than one Zoho query can reach."
                )
            restarted = True

    async def _query(
        self,
        module: str,
        chunks: list[tuple[str, ...]],
        all_fields: Sequence[str],
        since: datetime | None,
    ) -> AsyncIterator[Record | None]:
        """One query's records; yields None if Zoho ended the query before its last page."""
        tokens: list[str | None] = [None] * len(chunks)
        page = 1
        while True:
            by_number = page * self._per_page <= self._page_window
            if not by_number and any(t is None for t in tokens):
                yield None  # Zoho gave no page token to go on with
                return
            parts: list[_Page | None] = []
            try:
                for position, chunk in enumerate(chunks):
                    token = None if by_number else tokens[position]
                    parts.append(await self._page(module, chunk, page, token, since))
            except RequestRejected as exc:
                if exc.code in RESTART_CODES:
                    yield None
                    return
                raise
            first = parts[0]
            if first is None:  # 204 / 304: nothing (more) to read
                return
            rows, missing = merge_by_id(first.rows, *((p.rows if p else []) for p in parts[1:]))
            if missing:
                rows = await self._refetch(module, rows, missing, all_fields)
            for row in rows:
                yield Record.from_json(row)
            if not first.more:
                return
            tokens = [p.token if p else None for p in parts]
            page += 1

    async def _refetch(
        self,
        module: str,
        rows: list[dict[str, Any]],
        missing: set[str],
        fields: Sequence[str],
    ) -> list[dict[str, Any]]:
        # A record changed between the chunk calls and moved in the Modified_Time order: read
        # it whole by id; if it is gone it was deleted in between and is dropped.
        fresh = {
            r.id: dict(r.values)
            for r in await self._records.get_records(module, sorted(missing), fields)
        }
        out = []
        for row in rows:
            rid = str(row["id"])
            if rid not in missing:
                out.append(row)
            elif rid in fresh:
                out.append(fresh[rid])
        return out

    async def _page(
        self,
        module: str,
        fields: tuple[str, ...],
        page: int,
        token: str | None,
        since: datetime | None,
    ) -> _Page | None:
        params = {
            "fields": ",".join(fields),
            "per_page": str(self._per_page),
            "sort_by": "Modified_Time",
            "sort_order": "asc",
        }
        if token:
            params["page_token"] = token
        else:
            params["page"] = str(page)
        headers = {"If-Modified-Since": format_datetime(since)} if since else None
        response = await self._session.request(
            "GET", f"{API}/{module}", operation="list", params=params, headers=headers
        )
        body = response.body
        if response.status in (204, 304) or not isinstance(body, dict):
            return None
        info = body.get("info")
        info = info if isinstance(info, dict) else {}
        data = body.get("data")
        return _Page(
            rows=[r for r in data if isinstance(r, dict)] if isinstance(data, list) else [],
            more=bool(info.get("more_records")),
            token=info.get("next_page_token") or None,
        )
