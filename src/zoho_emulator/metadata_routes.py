"""Metadata endpoints: modules, fields, org, currencies and users."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Route

from .errors import ZohoError, invalid_module, required_param_missing
from .gateway import ApiCall, api
from .orgs import Currency, User
from .render import format_time
from .responses import Response, empty, json_response
from .schema import field_json, module_json
from .state import EmulatorState


def _created(call: ApiCall) -> str:
    return format_time(call.org.created_time or 1_700_000_000, call.user.zone)


async def _modules(call: ApiCall) -> Response:
    call.require(("ZohoCRM.settings.modules", "READ"))
    admin = call.org.admin.ref()
    return json_response({"modules": [module_json(m, _created(call), admin)
                                      for m in call.org.modules.values()]})


async def _module(call: ApiCall) -> Response:
    call.require(("ZohoCRM.settings.modules", "READ"))
    name = call.request.path_params["name"]
    module = call.org.modules.get(name) or next(
        (m for m in call.org.modules.values() if str(m.id) == name), None)
    if module is None:
        raise invalid_module()
    body = module_json(module, _created(call), call.org.admin.ref())
    body["fields"] = [field_json(f, module, call.org.modules) for f in module.fields.values()]
    return json_response({"modules": [body]})


async def _fields(call: ApiCall) -> Response:
    call.require(("ZohoCRM.settings.fields", "READ"))
    name = call.request.query_params.get("module")
    if not name:
        raise required_param_missing("module")
    module = call.module(name)
    fields = [field_json(f, module, call.org.modules) for f in module.fields.values()]
    if not fields:
        return empty(204)
    return json_response({"fields": fields})


async def _org(call: ApiCall) -> Response:
    call.require(("ZohoCRM.org", "READ"))
    org = call.org
    home = org.home_currency
    return json_response({"org": [{
        "id": org.id, "company_name": org.company_name, "alias": None,
        "primary_email": org.admin.email, "primary_zuid": org.admin.id, "zgid": org.id,
        "currency": home.name, "currency_symbol": home.symbol, "currency_locale": "en_CA",
        "iso_code": home.iso_code, "mc_status": org.mc_status, "time_zone": org.time_zone,
        "country_code": "CA" if home.iso_code == "CAD" else "GB", "type": "production",
        "domain_name": org.company_name.split()[0].lower(), "max_per_page": 200,
        "gapps_enabled": False, "privacy_settings": True, "hipaa_compliance_enabled": False,
        "license_details": {
            "paid": org.edition != "free", "paid_type": org.edition,
            "paid_expiry": None, "trial_type": None, "trial_expiry": None,
            "trial_action": None, "users_license_purchased": len(org.users) + 3},
    }]})


def _currency_json(call: ApiCall, c: Currency) -> dict[str, Any]:
    admin = call.org.admin.ref()
    created = _created(call)
    return {"id": c.id, "name": c.name, "iso_code": c.iso_code, "symbol": c.symbol,
            "exchange_rate": c.exchange_rate, "is_base": c.is_base, "is_active": True,
            "prefix_symbol": True, "created_time": created, "created_by": admin,
            "modified_time": created, "modified_by": admin,
            "format": {"decimal_separator": "Period", "thousand_separator": "Comma",
                       "decimal_places": "2"}}


async def _currencies(call: ApiCall) -> Response:
    call.require(("ZohoCRM.settings.currencies", "READ"))
    if not call.org.mc_status:
        raise ZohoError(403, "CURRENCIES_NOT_ENABLED", "multi-currency is not enabled", {})
    return json_response({"currencies": [_currency_json(call, c) for c in call.org.currencies]})


def _user_json(call: ApiCall, u: User) -> dict[str, Any]:
    admin = u.profile == "Administrator"
    return {"id": u.id, "full_name": u.full_name, "first_name": u.first_name,
            "last_name": u.last_name, "email": u.email, "time_zone": u.time_zone,
            "status": "active", "confirm": True, "locale": "en_US", "language": "en_US",
            "country_locale": "en_US", "date_format": "MM/dd/yyyy", "time_format": "hh:mm a",
            "role": {"name": u.role, "id": str(int(u.id) + 100)},
            "profile": {"name": u.profile, "id": str(int(u.id) + 200)},
            "created_time": _created(call), "Modified_Time": _created(call),
            "status_reason__s": None, "type__s": "AdminUsers" if admin else "ActiveUsers"}


async def _users(call: ApiCall) -> Response:
    call.require(("ZohoCRM.users", "READ"))
    kind = call.request.query_params.get("type") or "AllUsers"
    users = list(call.org.users.values())
    if kind == "CurrentUser":
        users = [call.user]
    elif kind == "AdminUsers":
        users = [u for u in users if u.profile == "Administrator"]
    if not users:
        return empty(204)
    return json_response({"users": [_user_json(call, u) for u in users], "info": {
        "per_page": 200, "count": len(users), "page": 1, "more_records": False}})


async def _user(call: ApiCall) -> Response:
    call.require(("ZohoCRM.users", "READ"))
    user = call.org.users.get(call.request.path_params["id"])
    if user is None:
        return empty(204)
    return json_response({"users": [_user_json(call, user)]})


def routes(state: EmulatorState) -> list[BaseRoute]:
    v = "/crm/{version}"
    return [
        Route(f"{v}/settings/modules", api(state, "settings/modules", _modules), methods=["GET"]),
        Route(f"{v}/settings/modules/{{name}}", api(state, "settings/modules/{name}", _module),
              methods=["GET"]),
        Route(f"{v}/settings/fields", api(state, "settings/fields", _fields), methods=["GET"]),
        Route(f"{v}/org", api(state, "org", _org), methods=["GET"]),
        Route(f"{v}/org/currencies", api(state, "org/currencies", _currencies), methods=["GET"]),
        Route(f"{v}/users", api(state, "users", _users), methods=["GET"]),
        Route(f"{v}/users/{{id}}", api(state, "users/{id}", _user), methods=["GET"]),
    ]
