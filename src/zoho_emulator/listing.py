"""GET /crm/{version}/{module}: fields, page window, page tokens, sorting, If-Modified-Since."""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from starlette.responses import Response

from .errors import ZohoError, required_param_missing
from .gateway import ApiCall
from .render import format_time, record_renderer
from .responses import empty, json_response
from .schema import Module
from .store import position_after
from .validation import parse_id

MAX_FIELDS = 50
MAX_PER_PAGE = 200
SORTABLE = ("id", "Created_Time", "Modified_Time")


def int_param(call: ApiCall, name: str, default: int, low: int, high: int | None) -> int:
    """An integer query parameter within [low, high]; anything else is INVALID_DATA."""
    raw = call.request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"param_name": name, "expected_data_type": "integer"}) from None
    if value < low or (high is not None and value > high):
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"param_name": name, "minimum": low, "maximum": high})
    return value


def modified_since(call: ApiCall) -> int | None:
    """The If-Modified-Since header as epoch seconds; ISO with offset or HTTP date."""
    raw = call.request.headers.get("if-modified-since")
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            raise ZohoError(400, "INVALID_DATA", "invalid data",
                            {"header_name": "If-Modified-Since"}) from None
    if parsed.tzinfo is None:
        raise ZohoError(400, "INVALID_DATA", "invalid data", {"header_name": "If-Modified-Since"})
    return int(parsed.timestamp())


def requested_fields(call: ApiCall, module: Module) -> list[str] | None:
    raw = call.request.query_params.get("fields")
    if not raw:
        if call.fields_required:
            raise required_param_missing("fields")
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if len(names) > MAX_FIELDS:
        raise ZohoError(400, "LIMIT_EXCEEDED", "Fields limit exceeded",
                        {"param_name": "fields", "limit": MAX_FIELDS})
    # Unknown names are skipped rather than refused (README, open question 4).
    return [n for n in names if n != "id"]


def list_records(call: ApiCall, module: Module) -> Response:
    """A page of records; 204 when the page is empty, 304 when nothing changed since."""
    q = call.request.query_params
    state = call.state
    names = requested_fields(call, module)
    per_page = int_param(call, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
    sort_by = q.get("sort_by") or "id"
    if sort_by not in SORTABLE:
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"param_name": "sort_by", "supported_values": list(SORTABLE)})
    sort_order = q.get("sort_order") or "desc"
    if sort_order not in ("asc", "desc"):
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"param_name": "sort_order", "supported_values": ["asc", "desc"]})
    since = modified_since(call)
    raw_token = q.get("page_token")
    if raw_token and q.get("page"):
        raise ZohoError(400, "AMBIGUITY_DURING_PROCESSING",
                        "page and page_token cannot be given together",
                        {"ambiguity_due_to": ["page", "page_token"]})
    only_ids = tuple(sorted({i for i in (parse_id(x) for x in q.get("ids", "").split(","))
                             if i is not None}))
    binding = (module.api_name, tuple(names or ()), sort_by, sort_order, since, only_ids,
               q.get("cvid"), q.get("converted"), q.get("approved"))
    store = call.org.store(module.api_name)
    keys, ids = store.ordered(sort_by, sort_order == "desc", since)
    if only_ids:
        wanted = set(only_ids)
        pairs = [(k, i) for k, i in zip(keys, ids, strict=True) if i in wanted]
        keys, ids = [p[0] for p in pairs], [p[1] for p in pairs]
    now = call.state.clock.time()
    cap = state.config.page_token_cap
    if raw_token:
        token = state.page_tokens.get(raw_token)
        if token is None or token.org_id != call.org.id:
            raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "page_token"})
        if token.user_id != call.user.id:
            # Tokens are user-specific (section 4.1).
            raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "page_token"})
        if token.expires <= now:
            raise ZohoError(400, "EXPIRED_VALUE", "the page token has expired",
                            {"param_name": "page_token"})
        if token.binding != binding:
            raise ZohoError(400, "TOKEN_BOUND_DATA_MISMATCH",
                            "the query parameters differ from the ones the page token is bound to",
                            {"param_name": "page_token"})
        if token.served >= cap:
            raise ZohoError(400, "PAGINATION_LIMIT_EXCEEDED",
                            f"cannot fetch more than {cap} records using page_token",
                            {"limit": cap})
        start = position_after(keys, token.last_key)
        served = token.served
        count = min(per_page, cap - served)
        page = served // per_page + 1
    else:
        page = int_param(call, "page", 1, 1, None)
        start = (page - 1) * per_page
        if start + per_page > state.config.page_window:
            raise ZohoError(400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                            f"cannot fetch more than {state.config.page_window} records with "
                            "page; use page_token", {"limit": state.config.page_window})
        served = start
        count = per_page
    chosen = ids[start:start + count]
    if not chosen:
        return empty(304 if since is not None and not ids else 204)
    render = record_renderer(call.org, module, call.user, names)
    records = store.records
    data = [render(rid, records[rid]) for rid in chosen]
    end = start + len(chosen)
    more = end < len(ids)
    next_token: str | None = None
    expiry: str | None = None
    if more:
        state.page_tokens.purge(now)
        issued = state.page_tokens.issue(call.org.id, call.user.id, module.api_name, binding,
                                          keys[end - 1], served + len(chosen),
                                          now + state.config.page_token_lifetime)
        next_token = issued.token
        expiry = format_time(issued.expires, call.user.zone)
    info: dict[str, Any] = {
        "call": False, "per_page": per_page, "count": len(data), "page": page,
        "sort_by": sort_by, "sort_order": sort_order, "more_records": more,
        "next_page_token": next_token, "previous_page_token": raw_token or None,
        "page_token_expiry": expiry, "email": False}
    return json_response({"data": data, "info": info})
