"""Test control under /__emulator__/: reset, seed, clients, faults, clock, config, schema, locks."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .catalog import add_system_fields
from .oauth import split_scopes
from .orgs import Org
from .responses import json_response
from .schema import Field, Module
from .scopes import ALL_SCOPES
from .seed import SeedSpec, seed_org
from .state import EmulatorState

KNOBS = ("page_window", "page_token_cap", "page_token_lifetime", "cascade_account_delete",
         "sub_concurrency")


class ControlError(Exception):
    pass


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ControlError("The control body must be a JSON object.")
    return body


def _org(state: EmulatorState, body: dict[str, Any]) -> Org:
    org_id = str(body.get("org_id") or state.default_org.id)
    if org_id not in state.orgs:
        raise ControlError(f"No org {org_id}; known: {', '.join(state.orgs)}.")
    return state.orgs[org_id]


def _field(org: Org, spec: dict[str, Any]) -> Field:
    kind = spec.get("data_type", "text")
    lookup = spec.get("lookup")
    if lookup is not None and lookup not in org.modules:
        raise ControlError(f"Lookup target module {lookup} does not exist.")
    return Field(spec["api_name"], spec.get("label", spec["api_name"].replace("_", " ")), kind,
                 org.ids.next(), length=spec.get("length"),
                 mandatory=bool(spec.get("mandatory", False)), custom=True, lookup=lookup,
                 picklist=tuple(spec.get("picklist", ())), unique=bool(spec.get("unique", False)))


def routes(state: EmulatorState) -> list[BaseRoute]:
    async def handle(request: Request) -> Response:
        action = request.path_params["action"]
        state.calls[f"{request.method} __emulator__/{action}"] += 1
        try:
            body = await _body(request) if request.method == "POST" else {}
            return json_response(_dispatch(state, action, request.method, body))
        except (ControlError, KeyError, ValueError, TypeError) as error:
            return json_response({"error": f"{type(error).__name__}: {error}"}, 400)

    return [Route("/__emulator__/{action:path}", handle, methods=["GET", "POST"])]


def _dispatch(state: EmulatorState, action: str, method: str,
              body: dict[str, Any]) -> dict[str, Any]:
    if action == "stats":
        return state.stats()
    if action == "clock":
        if "set" in body:
            state.clock.set(datetime.fromisoformat(body["set"]), frozen=bool(body.get("freeze")))
        if "advance" in body:
            state.clock.advance(float(body["advance"]))
        return {"now": state.clock.now().isoformat()}
    if method != "POST":
        raise ControlError(f"{action} needs POST.")
    if action == "reset":
        state.reset()
        return {"status": "reset"}
    if action == "seed":
        org = _org(state, body)
        spec = SeedSpec(int(body.get("accounts", 0)), int(body.get("contacts_per_account", 0)),
                        int(body.get("addresses_per_account", 0)), int(body.get("seed", 1)))
        return {"created": seed_org(org, spec, state.now(), state.publish)}
    if action == "self-client":
        org = _org(state, body)
        user_id = str(body.get("user_id") or org.admin.id)
        if user_id not in org.users:
            raise ControlError(f"Org {org.id} has no user {user_id}.")
        scopes = split_scopes(body.get("scope") or ",".join(ALL_SCOPES))
        return state.tokens.self_client(org.id, user_id, scopes)
    if action == "register-client":
        client = state.tokens.register_client(body["client_id"], body["client_secret"],
                                              body.get("redirect_uri"))
        return {"client_id": client.id, "redirect_uris": client.redirect_uris}
    if action == "faults":
        return _faults(state, body)
    if action == "config":
        return _config(state, body)
    if action == "fields":
        org = _org(state, body)
        module = org.modules.get(body.get("module", ""))
        if module is None:
            raise ControlError(f"No module {body.get('module')} in org {org.id}.")
        f = module.add(_field(org, body))
        return {"module": module.api_name, "api_name": f.api_name, "id": str(f.id)}
    if action == "locks":
        return _locks(state, body)
    if action == "modules":
        org = _org(state, body)
        name = body["api_name"]
        number = len([m for m in org.modules.values() if m.generated_type == "custom"]) + 3
        module = Module(name, f"CustomModule{number}", body.get("singular_label", name),
                        body.get("plural_label", name), org.ids.next(),
                        generated_type="custom", sequence_number=20 + number)
        add_system_fields(module, org.ids.next)
        module.add(Field("Name", body.get("name_label", "Name"), "text", org.ids.next(),
                         length=120, mandatory=True))
        org.add_module(module)
        for spec in body.get("fields", []):
            module.add(_field(org, spec))
        return {"api_name": name, "id": str(module.id)}
    raise ControlError(f"Unknown control action {action}.")


def _locks(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    org = _org(state, body)
    module = org.modules.get(body.get("module", ""))
    if module is None:
        raise ControlError(f"No module {body.get('module')} in org {org.id}.")
    store = org.store(module.api_name)
    ids = {int(i) for i in body.get("ids", [])}
    unknown = sorted(i for i in ids if store.get(i) is None)
    if unknown:
        raise ControlError(f"{module.api_name} of org {org.id} has no records {unknown}.")
    if body.get("locked", True):
        store.locked |= ids
    else:
        store.locked -= ids
    return {"module": module.api_name, "locked": [str(i) for i in sorted(store.locked)]}


def _faults(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    faults = state.faults
    if "latency_ms" in body:
        faults.latency_ms = int(body["latency_ms"])
    if "error_rates" in body:
        faults.error_rates = {int(k): float(v) for k, v in body["error_rates"].items()}
    if "seed" in body:
        faults.rng.seed(int(body["seed"]))
    expired = state.tokens.expire_all() if body.get("expire_tokens") else 0
    return {"latency_ms": faults.latency_ms,
            "error_rates": {str(k): v for k, v in faults.error_rates.items()},
            "expired_tokens": expired}


def _config(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    for knob in KNOBS:
        if knob in body:
            setattr(state.config, knob, type(getattr(state.config, knob))(body[knob]))
    if "access_token_lifetime" in body:
        state.tokens.access_lifetime = int(body["access_token_lifetime"])
    if any(k in body for k in ("credits_per_day", "concurrency", "edition")):
        org = _org(state, body)
        if "credits_per_day" in body:
            org.credits_override = body["credits_per_day"]
        if "concurrency" in body:
            org.concurrency_override = body["concurrency"]
        if "edition" in body:
            org.edition = str(body["edition"])
    return {**{k: getattr(state.config, k) for k in KNOBS},
            "access_token_lifetime": state.tokens.access_lifetime}
