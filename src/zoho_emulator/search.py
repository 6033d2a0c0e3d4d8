"""`GET /crm/{version}/{module}/search` and the search index with its lag (section 4.9).

One of `criteria`, `email`, `phone`, `word` (precedence in that order). At most 200 per page
and 2,000 records reachable (`LIMIT_REACHED`), 204 when nothing matches, `in` up to 100 values,
15 criteria in v8 and 10 before (README, Part 2 decisions). The index lags behind writes when
test control sets `index_lag_seconds`: a new or changed record is found (in its new form) only
once that much emulator-clock time has passed; deletions leave the index at once.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .conditions import Predicate
from .criteria import CriteriaError, compile_criteria, count, parse
from .errors import ZohoError, required_param_missing
from .events import ChangeEvent
from .gateway import ApiCall, api
from .render import record_renderer
from .responses import empty, json_response
from .schema import Module
from .state import EmulatorState
from .store import Record

MAX_PER_PAGE = 200
MAX_REACHABLE = 2_000
SEARCH_TYPES = ("text", "textarea", "email", "phone", "website", "picklist", "autonumber")
Key = tuple[str, str]


def max_criteria(version: str) -> int:
    return 15 if version == "v8" else 10


class SearchIndex:
    """What search sees: the store itself, or with a lag a shadow that catches up later."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.lag = 0.0
        self._shadows: dict[Key, dict[int, Record]] = {}
        self._pending: deque[tuple[float, Key, tuple[str, ...]]] = deque()

    def set_lag(self, seconds: float) -> None:
        self.lag = max(0.0, float(seconds))
        self._pending.clear()
        self._shadows.clear()
        if self.lag:
            # Snapshot (by reference: stored records are replaced, never mutated) what is
            # indexed now; later writes reach the shadow only after the lag.
            for org in self.state.orgs.values():
                for name, store in org.stores.items():
                    self._shadows[(org.id, name)] = dict(store.records)

    def on_change(self, event: ChangeEvent) -> None:
        if not self.lag:
            return
        key = (event.org_id, event.module)
        if event.operation == "delete":
            shadow = self._shadows.get(key)
            if shadow is not None:
                for rid in event.ids:
                    shadow.pop(int(rid), None)
            return
        self._pending.append((self.state.clock.time() + self.lag, key, event.ids))

    def records(self, org_id: str, module: str) -> dict[int, Record]:
        store = self.state.orgs[org_id].store(module)
        if not self.lag:
            return store.records
        now = self.state.clock.time()
        while self._pending and self._pending[0][0] <= now:
            _, key, ids = self._pending.popleft()
            live = self.state.orgs[key[0]].store(key[1]).records
            target = self._shadows.setdefault(key, {})
            for rid in ids:
                rec = live.get(int(rid))
                if rec is None:
                    target.pop(int(rid), None)
                else:
                    target[int(rid)] = rec
        return self._shadows.setdefault((org_id, module), {})

    def reset(self) -> None:
        self.set_lag(0)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def search_predicate(call: ApiCall, module: Module) -> Predicate:
    """The filter of a search (or count) request: criteria, email, phone or word."""
    q = call.request.query_params
    if q.get("criteria"):
        try:
            node = parse(q["criteria"])
            if count(node) > max_criteria(call.version):
                raise ZohoError(400, "CRITERIA_LIMIT_EXCEEDED",
                                f"maximum of {max_criteria(call.version)} criteria allowed",
                                {"limit": max_criteria(call.version)})
            return compile_criteria(node, module)
        except CriteriaError as error:
            details: dict[str, Any] = {"reason": error.reason}
            if error.api_name:
                details["api_name"] = error.api_name
            raise ZohoError(400, "INVALID_QUERY", "invalid query formed", details) from None
    kinds = {f.api_name: f.data_type for f in module.fields.values()}
    if q.get("email"):
        wanted = q["email"].strip().casefold()
        names = [n for n, k in kinds.items() if k == "email"]
        return lambda rec: any(str(rec.get(n) or "").casefold() == wanted for n in names)
    if q.get("phone"):
        digits = _digits(q["phone"])
        names = [n for n, k in kinds.items() if k == "phone"]
        return lambda rec: bool(digits) and any(digits in _digits(str(rec.get(n) or ""))
                                                for n in names)
    if q.get("word"):
        word = q["word"].strip().casefold()
        if len(word) < 2:
            raise ZohoError(400, "INVALID_DATA", "the word should have at least 2 characters",
                            {"param_name": "word"})
        names = [n for n, k in kinds.items() if k in SEARCH_TYPES]
        return lambda rec: any(word in str(rec.get(n) or "").casefold() for n in names)
    raise required_param_missing("criteria")


def _int(call: ApiCall, name: str, default: int, high: int | None) -> int:
    raw = call.request.query_params.get(name)
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = 0
    if value < 1 or (high is not None and value > high):
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"param_name": name, "maximum": high})
    return value


def routes(state: EmulatorState, index: SearchIndex) -> list[BaseRoute]:
    async def search(call: ApiCall) -> Response:
        module = call.module(call.request.path_params["module"])
        call.require_module(module, "READ")
        # Search still lists ZohoSearch.securesearch.READ in v8, as count does (doc 11.1).
        call.require(("ZohoSearch.securesearch", "READ"))
        predicate = search_predicate(call, module)
        per_page = _int(call, "per_page", MAX_PER_PAGE, MAX_PER_PAGE)
        page = _int(call, "page", 1, None)
        start = (page - 1) * per_page
        if start + per_page > MAX_REACHABLE:
            raise ZohoError(400, "LIMIT_REACHED", "search results exceed the limit",
                            {"limit": MAX_REACHABLE})
        matched: list[tuple[int, Record]] = []
        for rid, rec in index.records(call.org.id, module.api_name).items():
            if predicate(rec):
                matched.append((rid, rec))
                if len(matched) > start + per_page:
                    break
        chunk = matched[start:start + per_page]
        if not chunk:
            return empty(204)
        raw_fields = call.request.query_params.get("fields")
        names = [n.strip() for n in raw_fields.split(",") if n.strip()] if raw_fields else None
        render = record_renderer(call.org, module, call.user, names)
        data = [render(rid, rec) for rid, rec in chunk]
        return json_response({"data": data, "info": {
            "per_page": per_page, "count": len(data), "page": page,
            "more_records": len(matched) > start + per_page}})

    return [Route("/crm/{version}/{module}/search", api(state, "{module}/search", search),
                  methods=["GET"])]
