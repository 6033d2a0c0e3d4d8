"""`/crm/{version}/actions/watch`: enable (POST), list (GET), replace (PUT), merge (PATCH), and
disable (DELETE) notification channels, with Zoho's messages and per-item results (section 6)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .channels import Channel, build, channel_id_of
from .errors import ZohoError, record_error, required_param_missing
from .gateway import ApiCall, api
from .notifications import Notifier
from .render import format_time
from .responses import empty, json_response
from .state import EmulatorState
from .validation import FieldProblem

SUBSCRIBED = "Successfully subscribed for actions-watch of the given module"
UPDATED = "Successfully updated the subscribe details"
REMOVED = "Successfully removed the subscribe details"
UNSUBSCRIBED = "Successfully un-subscribed from actions-watch"
MAX_PER_PAGE = 200


def _not_subscribed(channel_id: str) -> dict[str, Any]:
    return record_error("NOT_SUBSCRIBED", "the channel is not subscribed",
                        {"channel_id": channel_id})


def _details(call: ApiCall, channel: Channel) -> dict[str, Any]:
    zone = call.user.zone
    return {"events": [
        {"channel_expiry": format_time(channel.expiry, zone),
         "resource_uri": channel.resource_uri(module),
         "resource_id": str(call.org.modules[module].id), "resource_name": module,
         "channel_id": channel.channel_id}
        for module in channel.events]}


def _success(call: ApiCall, message: str, channel: Channel) -> dict[str, Any]:
    return {"code": "SUCCESS", "status": "success", "message": message,
            "details": _details(call, channel)}


def _status(results: list[dict[str, Any]], ok: int) -> int:
    # Partial success answers 202 (section 6 table); nothing accepted answers 400.
    good = sum(1 for r in results if r["status"] == "success")
    if good == len(results):
        return ok
    return 202 if good else 400


async def _items(call: ApiCall) -> list[Any]:
    body = await call.json()
    if not isinstance(body, dict) or not isinstance(body.get("watch"), list) or not body["watch"]:
        raise required_param_missing("watch")
    return list(body["watch"])


def routes(state: EmulatorState, notifier: Notifier) -> list[BaseRoute]:
    registry = notifier.channels

    def _build(call: ApiCall, item: Any, i: int, base: Channel | None = None) -> Channel:
        modules = {m.api_name for m in call.org.modules.values() if m.api_supported}
        api_base = str(call.request.base_url).rstrip("/")
        return build(item, i, org_id=call.org.id, user_id=call.user.id, modules=modules,
                     now=call.state.now(), version=call.version, api_base=api_base, base=base)

    async def watch(call: ApiCall) -> Response:
        method = call.request.method
        op = {"GET": "READ", "POST": "CREATE", "PUT": "UPDATE", "PATCH": "UPDATE",
              "DELETE": "DELETE"}[method]
        call.require(("ZohoCRM.notifications", op))
        if method == "GET":
            return _list(call)
        if method == "DELETE":
            return _delete(call)
        results: list[dict[str, Any]] = []
        now = call.state.now()
        for i, item in enumerate(await _items(call)):
            try:
                if method == "POST":
                    channel = _build(call, item, i)
                    registry.put(channel)
                    results.append(_success(call, SUBSCRIBED, channel))
                    continue
                channel_id = channel_id_of(item.get("channel_id") if isinstance(item, dict)
                                           else None, i)
                existing = registry.get(call.org.id, channel_id, now)
                if existing is None:
                    results.append(_not_subscribed(channel_id))
                    continue
                if method == "PUT":
                    # PUT replaces the whole configuration: keys left out are dropped.
                    channel = _build(call, item, i)
                    registry.put(channel)
                    results.append(_success(call, UPDATED, channel))
                elif item.get("_delete_events"):
                    results.append(_delete_events(call, existing, item, i))
                else:
                    channel = _build(call, item, i, base=existing)
                    registry.put(channel)
                    results.append(_success(call, UPDATED, channel))
            except FieldProblem as problem:
                results.append(record_error(problem.code, problem.message, problem.details))
        return json_response({"watch": results}, _status(results, 201 if method == "POST"
                                                         else 200))

    def _delete_events(call: ApiCall, existing: Channel, item: dict[str, Any],
                       i: int) -> dict[str, Any]:
        listed = _build(call, {"channel_id": existing.channel_id, "events": item.get("events"),
                               "notify_url": existing.notify_url}, i)
        events = {m: tuple(op for op in ops if op not in listed.events.get(m, ()))
                  for m, ops in existing.events.items()}
        events = {m: ops for m, ops in events.items() if ops}
        if not events:
            registry.remove(call.org.id, existing.channel_id)
            return {"code": "SUCCESS", "status": "success", "message": REMOVED,
                    "details": _details(call, existing)}
        channel = replace(existing, events=events)
        registry.put(channel)
        return _success(call, REMOVED, channel)

    def _list(call: ApiCall) -> Response:
        q = call.request.query_params
        channels = registry.live(call.org.id, call.state.now())
        if q.get("channel_id"):
            channels = [c for c in channels if c.channel_id == q["channel_id"]]
        module = q.get("module")
        try:
            per_page = min(int(q.get("per_page") or MAX_PER_PAGE), MAX_PER_PAGE)
            page = max(int(q.get("page") or 1), 1)
        except ValueError:
            raise ZohoError(400, "INVALID_DATA", "invalid data", {"param_name": "page"}) from None
        entries = []
        zone = call.user.zone
        for c in channels:
            for name, ops in c.events.items():
                if module and name != module:
                    continue
                entries.append({
                    "notify_on_related_action": c.notify_on_related_action,
                    "channel_expiry": format_time(c.expiry, zone),
                    "resource_uri": c.resource_uri(name),
                    "resource_id": str(call.org.modules[name].id), "resource_name": name,
                    "notify_url": c.notify_url, "channel_id": c.channel_id,
                    "events": [f"{name}.{op}" for op in ops], "token": c.token,
                    "return_affected_field_values": c.return_affected_field_values,
                    "notification_condition": c.notification_condition})
        chunk = entries[(page - 1) * per_page: page * per_page]
        if not chunk:
            return empty(204)
        return json_response({"watch": chunk, "info": {
            "per_page": per_page, "count": len(chunk), "page": page,
            "more_records": page * per_page < len(entries)}})

    def _delete(call: ApiCall) -> Response:
        raw = call.request.query_params.get("channel_ids")
        if not raw:
            raise required_param_missing("channel_ids")
        results = []
        for channel_id in [x.strip() for x in raw.split(",") if x.strip()]:
            removed = registry.remove(call.org.id, channel_id)
            if removed is None or removed.expiry <= call.state.now():
                results.append(_not_subscribed(channel_id))
            else:
                results.append({"code": "SUCCESS", "status": "success", "message": UNSUBSCRIBED,
                                "details": {"channel_id": channel_id}})
        return json_response({"watch": results}, _status(results, 200))

    return [Route("/crm/{version}/actions/watch", api(state, "actions/watch", watch),
                  methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]
