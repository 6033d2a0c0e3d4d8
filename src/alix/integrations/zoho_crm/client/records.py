"""Record calls other than the full read: by ids, writes, deletes, deleted, count, search, COQL."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from .credits import cost
from .errors import RecordInvalid, record_error
from .fieldsets import merge_by_id, split_fields
from .session import ApiResponse, ZohoSession
from .timestamps import format_datetime, parse_optional
from .wire import CoqlPage, DeletedRecord, Record, WriteFailure, WriteResult, WriteSuccess

_T = TypeVar("_T")

API = "/crm/v8"
BATCH = 100  # records per insert/update/upsert/delete and ids per get (doc 8.4)
PER_PAGE = 200
SEARCH_CAP = 2000  # records reachable through search (doc 4.9)


def batches(items: Sequence[_T], size: int = BATCH) -> list[Sequence[_T]]:
    """Consecutive slices of at most `size` items."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def write_results(body: Any, *, module: str, offset: int, expected: int) -> list[WriteResult]:
    """One result per input record, by position: Zoho answers `data[]` in input order (doc 4.3)."""
    entries = body.get("data") if isinstance(body, dict) else None
    entries = entries if isinstance(entries, list) else []
    results: list[WriteResult] = []
    for position in range(expected):
        index = offset + position
        entry = entries[position] if position < len(entries) else None
        if not isinstance(entry, dict):
            error = RecordInvalid(
                f"Zoho returned no result for {module} record #{index}.", code="NO_RESULT"
            )
            results.append(WriteFailure(index, error))
        elif str(entry.get("status", "")).lower() == "success":
            details = entry.get("details") or {}
            results.append(
                WriteSuccess(
                    index=index,
                    id=str(details.get("id") or ""),
                    modified_time=parse_optional(details.get("Modified_Time")),
                    created_time=parse_optional(details.get("Created_Time")),
                    action=entry.get("action"),
                    duplicate_field=entry.get("duplicate_field"),
                )
            )
        else:
            results.append(WriteFailure(index, record_error(entry, module=module, index=index)))
    return results


class RecordCalls:
    """Record operations on one connection's session."""

    def __init__(self, session: ZohoSession) -> None:
        self._session = session

    async def get_records(
        self, module: str, ids: Sequence[str], fields: Sequence[str]
    ) -> list[Record]:
        """Fetch by id, 100 ids per call, more than 50 fields split into calls merged by id."""
        found: list[Record] = []
        for chunk in batches(list(dict.fromkeys(ids))):
            parts = [await self._by_ids(module, chunk, f) for f in split_fields(fields)]
            merged, _ = merge_by_id(parts[0], *parts[1:])
            found.extend(Record.from_json(r) for r in merged)
        return found

    async def _by_ids(
        self, module: str, ids: Sequence[str], fields: Sequence[str]
    ) -> list[dict[str, Any]]:
        params = {"ids": ",".join(ids), "fields": ",".join(fields)}
        response = await self._session.request(
            "GET", f"{API}/{module}", operation="get_records", params=params
        )
        return _data(response)

    async def write(
        self,
        verb: str,
        module: str,
        records: Sequence[Mapping[str, Any]],
        *,
        trigger: Sequence[str],
        duplicate_check_fields: Sequence[str] = (),
    ) -> list[WriteResult]:
        """insert / update / upsert in batches of 100; never raises for a refused record."""
        method, path = {
            "insert": ("POST", f"{API}/{module}"),
            "update": ("PUT", f"{API}/{module}"),
            "upsert": ("POST", f"{API}/{module}/upsert"),
        }[verb]
        results: list[WriteResult] = []
        for number, batch in enumerate(batches(records)):
            body: dict[str, Any] = {"data": [dict(r) for r in batch], "trigger": list(trigger)}
            if duplicate_check_fields:
                body["duplicate_check_fields"] = list(duplicate_check_fields)
            response = await self._session.request(
                method,
                path,
                operation=verb,
                json_body=body,
                cost=cost(verb, records=len(batch)),
                # An insert resent after a lost answer would create the record twice.
                idempotent=verb != "insert",
                accept_error_data=True,
            )
            results.extend(
                write_results(
                    response.body, module=module, offset=number * BATCH, expected=len(batch)
                )
            )
        return results

    async def delete(
        self, module: str, ids: Sequence[str], *, run_workflows: bool
    ) -> list[WriteResult]:
        results: list[WriteResult] = []
        for number, batch in enumerate(batches(list(ids))):
            params = {"ids": ",".join(batch), "wf_trigger": str(run_workflows).lower()}
            response = await self._session.request(
                "DELETE",
                f"{API}/{module}",
                operation="delete",
                params=params,
                accept_error_data=True,
            )
            results.extend(
                write_results(
                    response.body, module=module, offset=number * BATCH, expected=len(batch)
                )
            )
        return results

    async def deleted_since(self, module: str, since: datetime | None) -> list[DeletedRecord]:
        headers = {"If-Modified-Since": format_datetime(since)} if since else None
        rows = await self._pages(
            f"{API}/{module}/deleted", "deleted", {"type": "all"}, headers=headers
        )
        found = [DeletedRecord.from_json(d) for d in rows]
        if since is not None:
            found = [d for d in found if d.deleted_time is None or d.deleted_time >= since]
        return sorted(found, key=lambda d: (d.deleted_time is not None, d.deleted_time, d.id))

    async def count(self, module: str, criteria: str | None) -> int:
        params = {"criteria": criteria} if criteria else None
        response = await self._session.request(
            "GET", f"{API}/{module}/actions/count", operation="count", params=params
        )
        body = response.body if isinstance(response.body, dict) else {}
        return int(body.get("count") or 0)

    async def search(self, module: str, criteria: str, fields: Sequence[str]) -> list[Record]:
        params = {"criteria": criteria}
        if fields:
            params["fields"] = ",".join(fields)
        rows = await self._pages(
            f"{API}/{module}/search", "search", params, last_page=SEARCH_CAP // PER_PAGE
        )
        return [Record.from_json(r) for r in rows]

    async def _pages(
        self,
        path: str,
        operation: str,
        params: Mapping[str, str],
        *,
        headers: Mapping[str, str] | None = None,
        last_page: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every row of a `page`-numbered GET, until `more_records` is false or `last_page`."""
        rows: list[dict[str, Any]] = []
        page = 1
        while last_page is None or page <= last_page:
            response = await self._session.request(
                "GET",
                path,
                operation=operation,
                params={**params, "page": str(page), "per_page": str(PER_PAGE)},
                headers=headers,
            )
            rows.extend(_data(response))
            if not _more(response):
                break
            page += 1
        return rows

    async def coql(self, query: str) -> CoqlPage:
        response = await self._session.request(
            "POST",
            f"{API}/coql",
            operation="coql",
            json_body={"select_query": query},
            cost=cost("coql", limit=_coql_limit(query)),
        )
        return CoqlPage(rows=_data(response), more_records=_more(response))


def _data(response: ApiResponse) -> list[dict[str, Any]]:
    body = response.body
    data = body.get("data") if isinstance(body, dict) else None
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def _more(response: ApiResponse) -> bool:
    body = response.body
    info = body.get("info") if isinstance(body, dict) else None
    return bool(info.get("more_records")) if isinstance(info, dict) else False


_LIMIT = re.compile(r"\blimit\s+(\d+)(?:\s*,\s*(\d+))?", re.IGNORECASE)


def _coql_limit(query: str) -> int:
    match = _LIMIT.search(query)
    if match is None:
        return 200  # COQL's default LIMIT (doc 4.10)
    return int(match.group(2) or match.group(1))
