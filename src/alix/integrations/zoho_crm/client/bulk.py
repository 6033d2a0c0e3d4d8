"""Bulk read: create a CSV export job, poll it, and stream its zipped CSV back as rows."""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from anyio.lowlevel import checkpoint

from .errors import RequestRejected
from .session import ZohoSession
from .timestamps import format_datetime, parse_optional
from .wire import BulkReadJob, Record

READ = "/crm/bulk/v8/read"
_SPOOL_IN_MEMORY = 8 * 1024 * 1024  # bigger downloads spill to a temporary file


class BulkReadCalls:
    """Bulk read jobs (doc 7): one job returns up to 200,000 rows of one module."""

    def __init__(self, session: ZohoSession) -> None:
        self._session = session

    async def create(
        self,
        module: str,
        fields: Sequence[str],
        *,
        modified_since: datetime | None,
        page: int = 1,
    ) -> BulkReadJob:
        query: dict[str, Any] = {"module": {"api_name": module}, "page": page}
        if fields:
            query["fields"] = list(dict.fromkeys(["id", "Modified_Time", *fields]))
        if modified_since is not None:
            query["criteria"] = {
                "field": {"api_name": "Modified_Time"},
                "comparator": "greater_equal",
                "value": format_datetime(modified_since),
            }
        response = await self._session.request(
            "POST", READ, operation="bulk_read_create", json_body={"query": query}
        )
        entry = _first(response.body)
        details = entry.get("details") or {}
        if str(entry.get("status", "success")).lower() != "success" or "id" not in details:
            raise RequestRejected(
                f"Zoho refused the bulk read of {module}: {entry.get('code')} "
                f"({entry.get('message')}).",
                code=str(entry.get("code") or ""),
            )
        return BulkReadJob(id=str(details["id"]), state=str(details.get("state") or "ADDED"))

    async def status(self, job_id: str) -> BulkReadJob:
        response = await self._session.request(
            "GET", f"{READ}/{job_id}", operation="bulk_read_status"
        )
        entry = _first(response.body)
        if not entry:
            raise RequestRejected(f"Zoho returned no status for bulk read job {job_id}.")
        return BulkReadJob.from_json(entry)

    async def download(self, job_id: str) -> AsyncIterator[dict[str, str]]:
        """The job's CSV rows; the zip is spooled (memory, then disk), never held as a string."""
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
            async with self._session.stream(
                f"{READ}/{job_id}/result", operation="bulk_read_download"
            ) as response:
                async for chunk in response.aiter_bytes():
                    spool.write(chunk)
            spool.seek(0)
            try:
                archive = zipfile.ZipFile(spool)
            except zipfile.BadZipFile as exc:
                raise RequestRejected(
                    f"The result of bulk read job {job_id} is not a zip archive."
                ) from exc
            with archive:
                # One CSV per job; its file name is not documented (doc 11.12).
                names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                if not names:
                    raise RequestRejected(f"Bulk read job {job_id} returned no CSV file.")
                with archive.open(names[0]) as raw:
                    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                    for number, row in enumerate(csv.DictReader(text)):
                        if number % 1000 == 0:
                            await checkpoint()
                        yield row


def _first(body: Any) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return data[0]
    return {}


_AS_ID = frozenset({"lookup", "ownerlookup", "userlookup"})


def bulk_cell(value: str, data_type: str | None) -> Any:
    """One CSV cell as the REST listing gives the field (see ZohoCrmClient.bulk_records)."""
    if value == "":
        return None
    if data_type in _AS_ID:
        return {"id": value}
    if data_type == "boolean":
        return value.strip().lower() == "true"
    if data_type == "multiselectpicklist":
        return [part for part in value.split(";") if part]
    return value


def bulk_record(row: dict[str, str], types: dict[str, str]) -> Record:
    """A CSV row as a Record, its cells typed by the module's field types."""
    values = {name: bulk_cell(cell, types.get(name)) for name, cell in row.items()}
    return Record(
        id=str(row["id"]),
        modified_time=parse_optional(row.get("Modified_Time")),
        created_time=parse_optional(row.get("Created_Time")),
        values={**values, "id": str(row["id"])},
    )
