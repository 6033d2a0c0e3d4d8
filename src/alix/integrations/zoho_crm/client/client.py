"""ZohoCrmClient: the ZohoCrm port over HTTP, composed from the client's collaborators."""

from __future__ import annotations

import random as _random
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from types import TracebackType
from typing import Any

import anyio
import httpx

from alix.clock import Clock, utc_now

from .auth import ZohoAuth
from .bulk import BulkReadCalls, bulk_record
from .concurrency import Slots
from .credits import CreditMeter
from .errors import RequestRejected, SchemaMismatch
from .metadata import Metadata
from .notifications import ChannelCalls
from .oauth import ZohoAccounts
from .pager import RecordPager
from .records import RecordCalls
from .retry import RetryPolicy
from .session import Random, Sleep, ZohoSession
from .tls import shared_ssl_context
from .tokens import TokenStore
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

# Requests carry a path only; ZohoAuth points each at the api_domain of the token it signs with.
_UNRESOLVED_HOST = "https://api-domain.invalid"


class ZohoCrmClient:
    """The real ZohoCrm: one instance per connection and process; share its TokenStore.

    Build it with `connect(...)` and close it with `aclose()` (or `async with`).
    """

    def __init__(
        self,
        *,
        api: httpx.AsyncClient,
        accounts_http: httpx.AsyncClient,
        accounts: ZohoAccounts,
        auth: ZohoAuth,
        session: ZohoSession,
        connection_id: str,
        store: TokenStore,
        refresh_token: str,
        poll_interval: float = 5.0,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self._api = api
        self._accounts_http = accounts_http
        self.accounts = accounts
        self.auth = auth
        self.session = session
        self._connection_id = connection_id
        self._store = store
        self._refresh_token = refresh_token
        self._poll_interval = poll_interval
        self._sleep = sleep
        self._metadata = Metadata(session)
        self._records = RecordCalls(session)
        self.pager = RecordPager(session, self._records)
        self._channels = ChannelCalls(session)
        self._bulk = BulkReadCalls(session)

    @classmethod
    def connect(
        cls,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        connection_id: str,
        store: TokenStore,
        location: str | None = None,
        accounts_url: str | None = None,
        override_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        slots: Slots | None = None,
        retry: RetryPolicy | None = None,
        credits: CreditMeter | None = None,
        clock: Clock = utc_now,
        sleep: Sleep = anyio.sleep,
        random: Random = _random.random,
        timeout: float = 60.0,
        poll_interval: float = 5.0,
    ) -> ZohoCrmClient:
        """Wire a client; `override_url` is the development accounts server (the emulator)."""
        tls = shared_ssl_context()
        accounts_http = httpx.AsyncClient(transport=transport, timeout=timeout, verify=tls)
        accounts = ZohoAccounts(
            accounts_http,
            client_id=client_id,
            client_secret=client_secret,
            location=location,
            accounts_url=accounts_url,
            override_url=override_url,
            clock=clock,
        )
        auth = ZohoAuth(
            accounts,
            refresh_token=refresh_token,
            store=store,
            connection_id=connection_id,
            clock=clock,
        )
        api = httpx.AsyncClient(
            base_url=_UNRESOLVED_HOST, auth=auth, transport=transport, timeout=timeout,
            verify=tls,
        )
        session = ZohoSession(
            api,
            slots=slots,
            retry=retry,
            credits=credits,
            clock=clock,
            sleep=sleep,
            random=random,
            origin=lambda: auth.origin,
        )
        return cls(
            api=api,
            accounts_http=accounts_http,
            accounts=accounts,
            auth=auth,
            session=session,
            connection_id=connection_id,
            store=store,
            refresh_token=refresh_token,
            poll_interval=poll_interval,
            sleep=sleep,
        )

    async def aclose(self) -> None:
        await self._api.aclose()
        await self._accounts_http.aclose()

    async def __aenter__(self) -> ZohoCrmClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def revoke(self) -> None:
        """Revoke the connection's refresh token and forget its access token."""
        await self.accounts.revoke(self._refresh_token)
        await self._store.clear(self._connection_id)
        self.auth.forget()

    @asynccontextmanager
    async def _schema(self, module: str) -> AsyncIterator[None]:
        try:
            yield
        except SchemaMismatch:
            self._metadata.forget(module)  # re-read on next use (doc 9.15)
            raise

    async def modules(self) -> list[Module]:
        return await self._metadata.modules()

    async def fields(self, module: str, *, refresh: bool = False) -> list[Field]:
        async with self._schema(module):
            return await self._metadata.fields(module, refresh=refresh)

    async def org(self) -> Org:
        return await self._metadata.org()

    async def org_edition(self) -> str:
        return await self._metadata.org_edition()

    async def current_user(self) -> User:
        return await self._metadata.current_user()

    async def currencies(self) -> list[Currency]:
        return await self._metadata.currencies()

    async def iter_records(
        self, module: str, fields: Sequence[str], *, modified_since: datetime | None = None
    ) -> AsyncIterator[Record]:
        async with self._schema(module):
            async for record in self.pager.iter_records(module, fields, modified_since):
                yield record

    async def bulk_records(
        self, module: str, fields: Sequence[str], *, modified_since: datetime | None = None
    ) -> AsyncIterator[Record]:
        """Every record through bulk read jobs (200,000 rows a job), as REST shapes.

        The CSV (doc 7; zoho-crm-api.md open question 12: our emulator's decisions) gives
        lookups and users as bare ids, booleans as true/false, multi-selects joined by ";"
        and empty cells for null: each is turned back into what the REST listing gives,
        by the module's field types, so the pull maps both alike.
        """
        async with self._schema(module):
            types = {f.api_name: f.data_type for f in await self._metadata.fields(module)}
            page = 1
            while True:
                job = await self._bulk.create(module, fields, modified_since=modified_since,
                                              page=page)
                job = await self._wait(job)
                async for row in self._bulk.download(job.id):
                    yield bulk_record(row, types)
                if not job.more_records:
                    return
                page += 1

    async def _wait(self, job: BulkReadJob) -> BulkReadJob:
        # A small export is ready within a second or two, a large one takes minutes: ask
        # after 0.5 s, then twice as late each time, up to the poll interval (each status
        # call costs a credit, doc 8.2).
        delay = min(0.5, self._poll_interval)
        while not job.done:
            await self._sleep(delay)
            delay = min(delay * 2, self._poll_interval)
            job = await self._bulk.status(job.id)
        if job.state != "COMPLETED":
            raise RequestRejected(f"Zoho bulk read job {job.id} ended in state {job.state}.")
        return job

    async def get_records(
        self, module: str, ids: Sequence[str], fields: Sequence[str] = ()
    ) -> list[Record]:
        async with self._schema(module):
            if not fields:
                fields = [f.api_name for f in await self._metadata.fields(module)]
            return await self._records.get_records(module, ids, fields)

    async def insert(
        self, module: str, records: Sequence[Mapping[str, Any]], *, trigger: Sequence[str] = ()
    ) -> list[WriteResult]:
        async with self._schema(module):
            return await self._records.write("insert", module, records, trigger=trigger)

    async def update(
        self, module: str, records: Sequence[Mapping[str, Any]], *, trigger: Sequence[str] = ()
    ) -> list[WriteResult]:
        async with self._schema(module):
            return await self._records.write("update", module, records, trigger=trigger)

    async def upsert(
        self,
        module: str,
        records: Sequence[Mapping[str, Any]],
        *,
        duplicate_check_fields: Sequence[str] = (),
        trigger: Sequence[str] = (),
    ) -> list[WriteResult]:
        async with self._schema(module):
            return await self._records.write(
                "upsert",
                module,
                records,
                trigger=trigger,
                duplicate_check_fields=duplicate_check_fields,
            )

    async def delete(
        self, module: str, ids: Sequence[str], *, run_workflows: bool = False
    ) -> list[WriteResult]:
        return await self._records.delete(module, ids, run_workflows=run_workflows)

    async def deleted_since(self, module: str, since: datetime | None) -> list[DeletedRecord]:
        return await self._records.deleted_since(module, since)

    async def count(self, module: str, criteria: str | None = None) -> int:
        async with self._schema(module):
            return await self._records.count(module, criteria)

    async def search(self, module: str, criteria: str, fields: Sequence[str] = ()) -> list[Record]:
        async with self._schema(module):
            return await self._records.search(module, criteria, fields)

    async def coql(self, query: str) -> CoqlPage:
        return await self._records.coql(query)

    async def create_channel(
        self,
        channel_id: str,
        events: Sequence[str],
        notify_url: str,
        *,
        token: str | None = None,
        expires_at: datetime | None = None,
    ) -> Channel:
        return await self._channels.create(
            channel_id, events, notify_url, token=token, expires_at=expires_at
        )

    async def renew_channel(self, channel_id: str, expires_at: datetime) -> Channel:
        return await self._channels.renew(channel_id, expires_at)

    async def list_channels(self) -> list[Channel]:
        return await self._channels.list()

    async def delete_channels(self, channel_ids: Sequence[str]) -> None:
        await self._channels.delete(channel_ids)

    async def create_bulk_read(
        self, module: str, fields: Sequence[str], *, modified_since: datetime | None = None
    ) -> BulkReadJob:
        return await self._bulk.create(module, fields, modified_since=modified_since)

    async def bulk_read_status(self, job_id: str) -> BulkReadJob:
        return await self._bulk.status(job_id)

    async def download_bulk_read(self, job_id: str) -> AsyncIterator[dict[str, str]]:
        async for row in self._bulk.download(job_id):
            yield row
