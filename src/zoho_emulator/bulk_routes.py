"""`/crm/bulk/{version}/read`: create a job, read its status, download its zip (section 7).

Downloads are limited to 10 per rolling minute per org (429 TOO_MANY_REQUESTS); results stay
downloadable for 24 h of emulator time; a `next_page_token` is user-specific and lives 24 h.
A job with a `callback` gets its final status POSTed there (README, Part 2 decisions).
"""

from __future__ import annotations

import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .bulk import PAGE_ROWS, BulkError, Job, Runner, compile_bulk_criteria
from .coql import CoqlError
from .dispatcher import Delivery, Dispatcher
from .errors import ZohoError, too_many_requests
from .gateway import ApiCall, api
from .limits import cost
from .query import resolve
from .render import format_time
from .responses import json_response
from .state import EmulatorState

DOWNLOADS_PER_MINUTE = 10
RESULT_LIFETIME = 86_400
TOKEN_LIFETIME = 86_400


@dataclass(frozen=True)
class PageToken:
    org_id: str
    user_id: str
    module: str
    names: tuple[str, ...]
    criteria: str
    offset: int
    page: int
    expires: float


@dataclass
class BulkJobs:
    """Jobs, page tokens and download counters of one emulator."""

    runner: Runner = field(default_factory=Runner)
    jobs: dict[str, Job] = field(default_factory=dict)
    tokens: dict[str, PageToken] = field(default_factory=dict)
    downloads: dict[str, deque[float]] = field(default_factory=dict)

    def reset(self) -> None:
        self.jobs.clear()
        self.tokens.clear()
        self.downloads.clear()


def _not_found(job_id: str) -> ZohoError:
    return ZohoError(404, "RESOURCE_NOT_FOUND", "the requested resource is not found",
                     {"resource": job_id})


def job_json(job: Job) -> dict[str, Any]:
    """The status entry of GET read/{id} and of the completion callback."""
    zone = job.user.zone
    entry: dict[str, Any] = {
        "id": job.id, "operation": "read", "state": job.state,
        "query": {"module": {"id": str(job.module.id), "api_name": job.module.api_name},
                  "page": job.page},
        "created_by": job.user.ref(), "created_time": format_time(job.created, zone),
        "file_type": "csv"}
    if job.callback_url:
        entry["callback"] = {"url": job.callback_url, "method": "post"}
    if job.state == "COMPLETED":
        entry["result"] = {"page": job.page, "per_page": PAGE_ROWS, "count": job.count,
                           "download_url": f"/crm/bulk/v8/read/{job.id}/result",
                           "more_records": job.more_records,
                           "next_page_token": job.next_page_token}
    elif job.state == "FAILURE":
        entry["result"] = {"error_message": job.error}
    return entry


def _callback(body: dict[str, Any]) -> str | None:
    raw = body.get("callback")
    if raw is None:
        return None
    if not isinstance(raw, dict) or str(raw.get("method", "")).lower() != "post":
        raise BulkError("INVALID_CALLBACK_METHOD", "the callback method is invalid",
                        {"supported_callback_methods": ["post"]})
    url = str(raw.get("url") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BulkError("INVALID_CALLBACK_URL", "the callback url is invalid", {})
    return url


def routes(state: EmulatorState, bulk: BulkJobs, dispatcher: Dispatcher) -> list[BaseRoute]:
    def finished(job: Job, final_state: str) -> None:
        if final_state == "COMPLETED" and job.next_offset is not None:
            token = secrets.token_hex(16)
            bulk.tokens[token] = PageToken(job.org.id, job.user.id, job.module.api_name,
                                           tuple(job.names), job.criteria_key, job.next_offset,
                                           job.page + 1, state.clock.time() + TOKEN_LIFETIME)
            job.next_page_token = token
        job.state = final_state
        if job.callback_url:
            dispatcher.submit(Delivery(job.callback_url, {"data": [job_json(job)]}, "bulk"))

    async def create(call: ApiCall) -> Response:
        call.require(("ZohoCRM.bulk", "READ"))
        content_type = call.request.headers.get("content-type", "application/json")
        if "json" not in content_type:
            raise ZohoError(415, "MEDIA_TYPE_NOT_SUPPORTED", "the media type is not supported",
                            {"supported_media_types": ["application/json"]})
        body = await call.json()
        try:
            job = _job(call, body if isinstance(body, dict) else {})
        except BulkError as error:
            raise ZohoError(400, error.code, error.message, error.details) from None
        call.charge(cost("POST", "bulk_read"))
        bulk.jobs[job.id] = job
        bulk.runner.start(job, finished, state.clock.time)
        return json_response({"data": [{
            "status": "success", "code": "ADDED_SUCCESSFULLY", "message": "Added successfully.",
            "details": {"id": job.id, "operation": "read", "state": "ADDED",
                        "created_by": call.user.ref(),
                        "created_time": format_time(job.created, call.user.zone)}}],
            "info": {}}, 201)

    def _job(call: ApiCall, body: dict[str, Any]) -> Job:
        query = body.get("query")
        if not isinstance(query, dict):
            raise BulkError("MANDATORY_NOT_FOUND", "required field not found",
                            {"api_name": "query", "json_path": "$.query"})
        callback_url = _callback(body)
        name = str((query.get("module") or {}).get("api_name") or "")
        if not name:
            raise BulkError("MANDATORY_NOT_FOUND", "required field not found",
                            {"api_name": "module", "json_path": "$.query.module"})
        module = call.module(name)
        call.require_module(module, "READ")
        raw_fields = query.get("fields") or []
        # No fields: every field of the module; `id` always comes first (section 7.1).
        names = [str(n) for n in raw_fields if str(n) != "id"] or list(module.fields)
        for n in names:
            try:
                resolve(call.org, module, n, "select")
            except CoqlError:
                raise BulkError("INVALID_DATA", "invalid data",
                                {"api_name": n, "json_path": "$.query.fields"}) from None
        criteria = query.get("criteria")
        predicate = compile_bulk_criteria(criteria, module) if criteria else None
        criteria_key = json.dumps(criteria, sort_keys=True)
        page = query.get("page") or 1
        offset = 0
        raw_token = query.get("page_token")
        if raw_token:
            token = bulk.tokens.get(str(raw_token))
            if (token is None or token.user_id != call.user.id or token.org_id != call.org.id
                    or token.expires <= state.clock.time()):
                raise BulkError("INVALID_DATA", "the page token is invalid or expired",
                                {"api_name": "page_token", "json_path": "$.query.page_token"})
            offset, page = token.offset, token.page
        elif not isinstance(page, int) or page < 1:
            raise BulkError("INVALID_DATA", "invalid data",
                            {"api_name": "page", "json_path": "$.query.page"})
        else:
            offset = (page - 1) * PAGE_ROWS
        store = call.org.store(module.api_name)
        return Job(str(call.org.ids.next()), call.org, call.user, module, names,
                   list(store.records.items()), predicate, page, offset, call.state.now(),
                   callback_url, criteria_key)

    def _find(call: ApiCall) -> Job:
        job = bulk.jobs.get(call.request.path_params["job_id"])
        if job is None or job.org.id != call.org.id:
            raise _not_found(call.request.path_params["job_id"])
        return job

    async def status(call: ApiCall) -> Response:
        call.require(("ZohoCRM.bulk", "READ"))
        return json_response({"data": [job_json(_find(call))]})

    async def result(call: ApiCall) -> Response:
        call.require(("ZohoCRM.bulk", "READ"))
        job = _find(call)
        now = state.clock.time()
        window = bulk.downloads.setdefault(call.org.id, deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= DOWNLOADS_PER_MINUTE:
            raise too_many_requests("You have exceeded the download limit of "
                                    f"{DOWNLOADS_PER_MINUTE} per minute.")
        window.append(now)
        if job.state != "COMPLETED" or job.result is None:
            raise _not_found(job.id)
        if job.completed_at is not None and now - job.completed_at > RESULT_LIFETIME:
            raise _not_found(job.id)
        return Response(job.result, 200, media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{job.id}.zip"'})

    base = "/crm/bulk/{version}/read"
    return [
        Route(base, api(state, "bulk/read", create), methods=["POST"]),
        Route(base + "/{job_id}", api(state, "bulk/read/{id}", status), methods=["GET"]),
        Route(base + "/{job_id}/result", api(state, "bulk/read/{id}/result", result),
              methods=["GET"]),
    ]
