"""ZohoCrm: the port the sync depends on, implemented by the HTTP client and by the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

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
    WriteResult,
)


class ZohoCrm(Protocol):
    """Everything the integration asks of Zoho CRM, in records rather than HTTP calls.

    Writes take any number of records, send them in batches of 100 and return exactly one
    result per input record, in input order; one refused record never raises. `trigger` lists
    the automations to run (workflow, approval, blueprint...); the default, none, keeps our
    own writes from firing workflows that would echo back to us (doc 9.6).
    """

    async def modules(self) -> list[Module]: ...

    async def fields(self, module: str, *, refresh: bool = False) -> list[Field]:
        """The module's fields, cached; `refresh` re-reads them (after a schema error)."""
        ...

    async def org(self) -> Org: ...

    async def current_user(self) -> User: ...

    async def currencies(self) -> list[Currency]:
        """The org's currencies; empty when multi-currency is not enabled."""
        ...

    def iter_records(
        self,
        module: str,
        fields: Sequence[str],
        *,
        modified_since: datetime | None = None,
    ) -> AsyncIterator[Record]:
        """Every record modified at or after `modified_since`, oldest Modified_Time first.

        A record modified during the iteration may be yielded again later (with its new
        Modified_Time); callers de-duplicate by id, keeping the newest.
        """
        ...

    async def get_records(
        self, module: str, ids: Sequence[str], fields: Sequence[str] = ()
    ) -> list[Record]:
        """The records with these ids that still exist, in no particular order."""
        ...

    async def insert(
        self, module: str, records: Sequence[Mapping[str, Any]], *, trigger: Sequence[str] = ()
    ) -> list[WriteResult]: ...

    async def update(
        self, module: str, records: Sequence[Mapping[str, Any]], *, trigger: Sequence[str] = ()
    ) -> list[WriteResult]:
        """Each record must carry its `id`; only the keys sent change."""
        ...

    async def upsert(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        *,
        duplicate_check_fields: Sequence[str] = (),
        trigger: Sequence[str] = (),
    ) -> list[WriteResult]: ...

    async def delete(
        self, module: str, ids: Sequence[str], *, run_workflows: bool = False
    ) -> list[WriteResult]: ...

    async def deleted_since(self, module: str, since: datetime | None) -> list[DeletedRecord]:
        """Records deleted at or after `since` (recycle bin and permanent), oldest first."""
        ...

    async def count(self, module: str, criteria: str | None = None) -> int: ...

    async def search(self, module: str, criteria: str, fields: Sequence[str] = ()) -> list[Record]:
        """Records matching a criteria string `(Field:operator:value)`; at most 2,000."""
        ...

    async def coql(self, query: str) -> CoqlPage: ...

    async def create_channel(
        self,
        channel_id: str,
        events: Sequence[str],
        notify_url: str,
        *,
        token: str | None = None,
        expires_at: datetime | None = None,
    ) -> Channel: ...

    async def renew_channel(self, channel_id: str, expires_at: datetime) -> Channel: ...

    async def list_channels(self) -> list[Channel]:
        """Live channels; `Module.all` may come back spelled out as create, edit, delete."""
        ...

    async def delete_channels(self, channel_ids: Sequence[str]) -> None: ...

    async def create_bulk_read(
        self, module: str, fields: Sequence[str], *, modified_since: datetime | None = None
    ) -> BulkReadJob: ...

    async def bulk_read_status(self, job_id: str) -> BulkReadJob: ...

    def bulk_records(
        self, module: str, fields: Sequence[str], *, modified_since: datetime | None = None
    ) -> AsyncIterator[Record]:
        """Every record (modified since) through bulk read jobs, shaped as iter_records gives
        them but in no particular order: the initial import of a large module."""
        ...

    def download_bulk_read(self, job_id: str) -> AsyncIterator[dict[str, str]]:
        """The job's rows as CSV dicts (column = field API name), parsed as they stream in."""
        ...
