"""Accounts-server endpoints: consent page, token grants and revoke (section 2)."""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .oauth import OAuthError, split_scopes
from .responses import json_response
from .state import EmulatorState

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Zoho Accounts (emulator)</title>
<style>body{{font-family:system-ui,sans-serif;background:#f3f5f9;margin:0;color:#1d2330}}
main{{max-width:520px;margin:8vh auto;background:#fff;border:1px solid #e3e6eb;border-radius:8px;
padding:2rem}}h1{{font-size:1.3rem}}.tag{{font-size:.75rem;color:#8a5a00;background:#fff4d6;
border-radius:4px;padding:.1rem .4rem}}select,button{{font:inherit;padding:.45rem .8rem}}
button{{border-radius:6px;border:1px solid #cfd4dc;background:#fff;cursor:pointer}}
button[value=accept]{{background:#e42527;border-color:#e42527;color:#fff}}li{{margin:.2rem 0}}
</style></head><body><main><span class="tag">Local Zoho CRM emulator</span>
<h1>{client} would like to access your Zoho CRM</h1>
<form method="post" action="/oauth/v2/auth">
<p><label>Organisation and user <select name="principal">{options}</select></label></p>
<p>Requested scopes:</p><ul>{scopes}</ul>{hidden}
<button type="submit" name="decision" value="accept">Accept</button>
<button type="submit" name="decision" value="deny">Deny</button></form></main></body></html>"""
CARRIED = ("client_id", "redirect_uri", "scope", "state", "access_type", "prompt")


def base_url(request: Request) -> str:
    """The emulator's own origin: it is both accounts server and `api_domain`."""
    return str(request.base_url).rstrip("/")


async def params(request: Request) -> dict[str, str]:
    """Zoho accepts token parameters as a form body or a query string on the POST (2.2)."""
    merged = dict(request.query_params)
    body = (await request.body()).decode("utf-8", "replace")
    if body and not body.lstrip().startswith("{"):
        merged.update(parse_qsl(body, keep_blank_values=True))
    return merged


def _problem(message: str) -> Response:
    return HTMLResponse(f"<!doctype html><h1>{escape(message)}</h1>", status_code=400)


def _redirect(uri: str, values: dict[str, str]) -> Response:
    joiner = "&" if "?" in uri else "?"
    return RedirectResponse(uri + joiner + urlencode(values), status_code=302)


def routes(state: EmulatorState) -> list[BaseRoute]:
    tokens = state.tokens

    def _client_problem(p: dict[str, str]) -> Response | None:
        client = tokens.clients.get(p.get("client_id", ""))
        if client is None:
            return _problem("Invalid Client: no client with this client_id is registered.")
        if p.get("redirect_uri") not in client.redirect_uris:
            return _problem("Invalid Redirect Uri: it must match a registered redirect URI.")
        return None

    async def consent(request: Request) -> Response:
        p = dict(request.query_params)
        problem = _client_problem(p)
        if problem is not None:
            return problem
        if p.get("response_type", "code") != "code":
            return _problem("Invalid response_type: only 'code' is supported.")
        options = "".join(
            f'<option value="{o.id}:{u.id}">{escape(o.company_name)} ({o.id}) - '
            f"{escape(u.full_name)}</option>"
            for o in state.orgs.values() for u in o.users.values())
        scopes = "".join(f"<li>{escape(s)}</li>" for s in split_scopes(p.get("scope", "")))
        hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(p.get(k, ""))}">'
                         for k in CARRIED)
        return HTMLResponse(PAGE.format(client=escape(p["client_id"]), options=options,
                                        scopes=scopes, hidden=hidden))

    async def decide(request: Request) -> Response:
        p = await params(request)
        problem = _client_problem(p)
        if problem is not None:
            return problem
        uri = p["redirect_uri"]
        carried = {"state": p["state"]} if p.get("state") else {}
        if p.get("decision") != "accept":
            return _redirect(uri, {"error": "access_denied", **carried})
        org_id, _, user_id = p.get("principal", "").partition(":")
        org = state.orgs.get(org_id)
        if org is None or user_id not in org.users:
            return _problem("Unknown organisation or user.")
        code = tokens.authorize(p["client_id"], uri, split_scopes(p.get("scope", "")), org_id,
                                user_id, p.get("access_type", "online") == "offline")
        return _redirect(uri, {**carried, "code": code, "location": "us",
                               "accounts-server": base_url(request)})

    async def token(request: Request) -> Response:
        p = await params(request)
        state.calls["POST oauth/v2/token"] += 1
        grant = p.get("grant_type")
        try:
            if grant == "authorization_code":
                return json_response(tokens.exchange_code(p, base_url(request)))
            if grant == "refresh_token":
                return json_response(tokens.refresh(p, base_url(request)))
            raise OAuthError("unsupported_grant_type")
        except OAuthError as error:
            # HTTP 200 with an `error` body: the SDK keys on the missing access_token
            # (README, open question 14).
            return json_response(error.body)

    async def revoke(request: Request) -> Response:
        p = await params(request)
        if tokens.revoke(p.get("token", "")):
            return json_response({"status": "success"})
        return json_response({"status": "failure", "error": "invalid_token"}, 400)

    return [
        Route("/oauth/v2/auth", consent, methods=["GET"]),
        Route("/oauth/v2/auth", decide, methods=["POST"]),
        Route("/oauth/v2/token", token, methods=["POST"]),
        Route("/oauth/v2/token/revoke", revoke, methods=["POST"]),
    ]
