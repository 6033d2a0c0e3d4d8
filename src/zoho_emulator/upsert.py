"""`POST /crm/{version}/{module}/upsert`: update the record a duplicate check finds, else insert.

Order of checks (zoho-crm-api.md 4.5): the fields of `duplicate_check_fields` first, then the
remaining user-defined unique fields; a system unique field (Account_Name, Email...) left out
of the list is not checked. Without the list: the system unique field, then the user-defined
ones. Each result carries `action` ("insert" / "update") and `duplicate_field` (null on
insert). Inserts and updates of one request are published as one event per operation, so a
notification channel gets one batched callback for each.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .errors import ZohoError
from .events import ChangeEvent
from .gateway import ApiCall, api
from .limits import cost
from .record_routes import write_body
from .responses import json_response
from .schema import Module
from .state import EmulatorState
from .store import ModuleStore
from .validation import parse_id
from .writes import WriteContext, insert, update

MAX_WRITE = 100
# System duplicate-check fields per module (section 4.5); custom modules use Name.
SYSTEM_UNIQUE = {"Leads": "Email", "Contacts": "Email", "Accounts": "Account_Name",
                 "Deals": "Deal_Name", "Products": "Product_Name", "Vendors": "Vendor_Name",
                 "Campaigns": "Campaign_Name", "Cases": "Subject", "Quotes": "Subject",
                 "Sales_Orders": "Subject", "Purchase_Orders": "Subject",
                 "Invoices": "Subject", "Solutions": "Solution_Title",
                 "Price_Books": "Price_Book_Name"}


def system_field(module: Module) -> str | None:
    if module.generated_type == "custom":
        return "Name" if "Name" in module.fields else None
    name = SYSTEM_UNIQUE.get(module.api_name)
    return name if name in module.fields else None


def check_order(module: Module, listed: list[str] | None) -> list[str]:
    """Fields to look for an existing record by, in order."""
    system = system_field(module)
    user_unique = [f.api_name for f in module.fields.values()
                   if f.unique and f.api_name != system]
    if listed is None:
        return ([system] if system else []) + user_unique
    return list(dict.fromkeys([*listed, *user_unique]))


def _match(store: ModuleStore, fields: list[str], item: dict[str, Any]) -> tuple[int, str] | None:
    for name in fields:
        value = item.get(name)
        if isinstance(value, str) and value:
            found = _find(store, name, value)
            if found is not None:
                return found, name
    return None


def _find(store: ModuleStore, name: str, value: str) -> int | None:
    indexed = store.find_duplicate(name, value)
    if indexed is not None or name in store.unique_fields():
        return indexed
    # A system field without a unique index (Email of Leads/Contacts): scan, case-insensitive.
    wanted = value.casefold()
    for rid, rec in store.records.items():
        stored = rec.get(name)
        if isinstance(stored, str) and stored.casefold() == wanted:
            return rid
    return None


def _renumber(result: dict[str, Any], i: int) -> dict[str, Any]:
    details = result.get("details")
    if isinstance(details, dict) and isinstance(details.get("json_path"), str):
        details["json_path"] = details["json_path"].replace("$.data[0]", f"$.data[{i}]", 1)
    return result


def upsert(ctx: WriteContext, module: Module, items: list[Any],
           listed: list[str] | None) -> list[dict[str, Any]]:
    """One result per item, in order; later items see the records earlier ones wrote."""
    store = ctx.org.store(module.api_name)
    order = check_order(module, listed)
    publish = ctx.publish
    buffered: list[ChangeEvent] = []
    ctx.publish = buffered.append
    results: list[dict[str, Any]] = []
    try:
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                results.append(_renumber(insert(ctx, module, [item])[0], i))
                continue
            found = _match(store, order, item)
            if found is None:
                result = _renumber(insert(ctx, module, [item])[0], i)
                result.update(action="insert", duplicate_field=None)
            else:
                rid, name = found
                result = _renumber(update(ctx, module, [{**item, "id": str(rid)}])[0], i)
                result.update(action="update", duplicate_field=name)
            results.append(result)
    finally:
        ctx.publish = publish
    _publish_merged(ctx, buffered)
    return results


def _publish_merged(ctx: WriteContext, events: list[ChangeEvent]) -> None:
    merged: dict[tuple[str, str], ChangeEvent] = {}
    for event in events:
        key = (event.module, event.operation)
        seen = merged.get(key)
        if seen is None:
            merged[key] = event
            continue
        changed = {**seen.changed, **event.changed}
        merged[key] = ChangeEvent(seen.org_id, seen.module, seen.operation, tuple(changed),
                                  seen.user_id, seen.via_api, seen.trigger, changed)
    for event in merged.values():
        ctx.publish(event)


def _listed(body: dict[str, Any], module: Module) -> list[str] | None:
    raw = body.get("duplicate_check_fields")
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise ZohoError(400, "INVALID_DATA", "invalid data",
                        {"api_name": "duplicate_check_fields", "expected_data_type": "jsonarray"})
    system = system_field(module)
    for name in raw:
        f = module.fields.get(str(name))
        if f is None or not (f.unique or f.api_name == system):
            # Only system or user-defined unique fields may be listed (section 4.5).
            raise ZohoError(400, "INVALID_DATA", "invalid data",
                            {"api_name": "duplicate_check_fields", "value": str(name)})
    return [str(n) for n in raw]


async def _upsert(call: ApiCall) -> Response:
    module = call.module(call.request.path_params["module"])
    call.require_module(module, "CREATE")
    call.require_module(module, "UPDATE")
    body = await call.json()
    data, trigger = write_body(body)
    listed = _listed(body, module)
    call.charge(cost("POST", "records", len(data)))
    ctx = call.state.writer(call.org, call.user, trigger=trigger)
    for item in data:
        if isinstance(item, dict) and "id" in item and parse_id(item["id"]) is None:
            item.pop("id")
    results = upsert(ctx, module, data, listed)
    good = sum(1 for r in results if r.get("status") == "success")
    # 200 even when every row was an insert [OBS]; mixed 207, none 400 (README).
    status = 200 if good == len(results) else 207 if good else 400
    return json_response({"data": results}, status)


def routes(state: EmulatorState) -> list[BaseRoute]:
    return [Route("/crm/{version}/{module}/upsert", api(state, "{module}/upsert", _upsert),
                  methods=["POST"])]
