"""Records endpoints: list, get, insert, update, delete, deleted list and count."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Route

from .errors import ZohoError, required_param_missing
from .gateway import ApiCall, api
from .limits import cost
from .listing import int_param, list_records, modified_since
from .render import format_time, record_renderer
from .responses import Response, empty, json_response
from .schema import Module
from .search import search_predicate
from .state import EmulatorState
from .validation import parse_id
from .writes import delete, insert, update

MAX_WRITE = 100
SEARCH_PARAMS = ("criteria", "email", "phone", "word")
RECYCLE_DAYS = 60  # recycle-bin entries become "permanent" after 60 days (section 4.7)
PERMANENT_DAYS = 120


def _status(results: list[dict[str, Any]], ok: int) -> int:
    # All ok -> 201/200, mixed -> 207, all failed -> 400 (README, open question 2).
    good = sum(1 for r in results if r.get("status") == "success")
    if good == len(results):
        return ok
    return 207 if good else 400


def write_body(body: Any) -> tuple[list[Any], list[str] | None]:
    """The `data` (1 to 100 records) and `trigger` of an insert, update or upsert body."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list) or not body["data"]:
        raise required_param_missing("data")
    data = body["data"]
    if len(data) > MAX_WRITE:
        raise ZohoError(400, "LIMIT_EXCEEDED", "the number of records exceeds the limit",
                        {"api_name": "data", "limit": MAX_WRITE})
    trigger = body.get("trigger")
    return data, trigger if isinstance(trigger, list) else None


async def _write_body(call: ApiCall) -> tuple[list[Any], list[str] | None]:
    return write_body(await call.json())


async def _list_or_write(call: ApiCall) -> Response:
    module = call.module(call.request.path_params["module"])
    method = call.request.method
    if method == "GET":
        call.require_module(module, "READ")
        return list_records(call, module)
    if method == "DELETE":
        call.require_module(module, "DELETE")
        raw = call.request.query_params.get("ids")
        if not raw:
            raise required_param_missing("ids")
        ids = [x.strip() for x in raw.split(",") if x.strip()]
        if len(ids) > MAX_WRITE:
            raise ZohoError(400, "LIMIT_EXCEEDED", "the number of records exceeds the limit",
                            {"param_name": "ids", "limit": MAX_WRITE})
        return _deleted(call, module, ids)
    op = "CREATE" if method == "POST" else "UPDATE"
    call.require_module(module, op)
    data, trigger = await _write_body(call)
    call.charge(cost(method, "records", len(data)))
    ctx = call.state.writer(call.org, call.user, trigger=trigger)
    if method == "POST":
        results = insert(ctx, module, data)
        return json_response({"data": results}, _status(results, 201))
    results = update(ctx, module, data)
    return json_response({"data": results}, _status(results, 200))


def _deleted(call: ApiCall, module: Module, ids: list[Any]) -> Response:
    call.charge(1)
    results = delete(call.state.writer(call.org, call.user), module, ids)
    return json_response({"data": results}, _status(results, 200))


async def _one(call: ApiCall) -> Response:
    module = call.module(call.request.path_params["module"])
    raw_id = call.request.path_params["id"]
    method = call.request.method
    if method == "GET":
        call.require_module(module, "READ")
        rid = parse_id(raw_id)
        record = call.org.store(module.api_name).get(rid) if rid is not None else None
        if record is None:
            # Unknown or deleted ids answer 204 (README, open question 3).
            return empty(204)
        raw_fields = call.request.query_params.get("fields")
        names = [n.strip() for n in raw_fields.split(",")] if raw_fields else None
        render = record_renderer(call.org, module, call.user, names)
        return json_response({"data": [render(rid, record)]})  # type: ignore[arg-type]
    if method == "DELETE":
        call.require_module(module, "DELETE")
        return _deleted(call, module, [raw_id])
    call.require_module(module, "UPDATE")
    data, trigger = await _write_body(call)
    call.charge(cost(method, "records", len(data)))
    ctx = call.state.writer(call.org, call.user, trigger=trigger)
    results = update(ctx, module, data[:1], path_id=parse_id(raw_id))
    return json_response({"data": results}, _status(results, 200))


async def _deleted_list(call: ApiCall) -> Response:
    module = call.module(call.request.path_params["module"])
    call.require_module(module, "READ")
    kind = call.request.query_params.get("type") or "all"
    if kind not in ("all", "recycle", "permanent"):
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"param_name": "type", "supported_values": ["all", "recycle",
                                                                    "permanent"]})
    per_page = int_param(call, "per_page", 200, 1, 200)
    page = int_param(call, "page", 1, 1, None)
    since = modified_since(call)
    now = call.state.now()
    users = call.org.users
    zone = call.user.zone
    entries = []
    for entry in reversed(call.org.store(module.api_name).deleted.values()):
        age_days = (now - entry.deleted_time) / 86_400
        if age_days > PERMANENT_DAYS or (since is not None and entry.deleted_time < since):
            continue
        permanent = age_days > RECYCLE_DAYS
        if kind != "all" and kind != ("permanent" if permanent else "recycle"):
            continue
        # Permanent entries come back with null names and users (section 4.7 sample).
        entries.append({
            "id": str(entry.id), "type": "permanent" if permanent else "recycle",
            "display_name": None if permanent else entry.display_name,
            "deleted_time": format_time(entry.deleted_time, zone),
            "deleted_by": None if permanent or entry.deleted_by not in users
            else users[entry.deleted_by].ref(),
            "created_by": None if permanent or entry.created_by not in users
            else users[entry.created_by].ref()})
    if not entries:
        return empty(304 if since is not None else 204)
    chunk = entries[(page - 1) * per_page: page * per_page]
    if not chunk:
        return empty(204)
    return json_response({"data": chunk, "info": {
        "per_page": per_page, "count": len(chunk), "page": page,
        "more_records": page * per_page < len(entries)}})


async def _count(call: ApiCall) -> Response:
    module = call.module(call.request.path_params["module"])
    call.require_module(module, "READ")
    # The count API also wants the search scope (section 4.8).
    call.require(("ZohoSearch.securesearch", "READ"))
    store = call.org.store(module.api_name)
    q = call.request.query_params
    if not any(q.get(name) for name in SEARCH_PARAMS):
        return json_response({"count": len(store)})
    # criteria / email / phone / word filter as they do in search (section 4.8), unlagged.
    matches = search_predicate(call, module)
    return json_response({"count": sum(1 for rec in store.records.values() if matches(rec))})


def routes(state: EmulatorState) -> list[BaseRoute]:
    """Generic record routes; they go last so specific paths (search, upsert...) win."""
    base = "/crm/{version}/{module}"
    return [
        Route(f"{base}/deleted", api(state, "{module}/deleted", _deleted_list), methods=["GET"]),
        Route(f"{base}/actions/count", api(state, "{module}/actions/count", _count),
              methods=["GET"]),
        Route(base, api(state, "{module}", _list_or_write),
              methods=["GET", "POST", "PUT", "DELETE"]),
        Route(f"{base}/{{id}}", api(state, "{module}/{id}", _one),
              methods=["GET", "PUT", "DELETE"]),
    ]
