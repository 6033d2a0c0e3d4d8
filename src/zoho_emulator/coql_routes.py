"""`POST /crm/{version}/coql`: run a COQL query; 204 when nothing matches (OAS coql.json)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .coql import CoqlError, parse
from .errors import ZohoError, required_param_missing
from .gateway import ApiCall, api
from .limits import cost
from .query import execute
from .responses import empty, json_response
from .state import EmulatorState


async def _coql(call: ApiCall) -> Response:
    call.require(("ZohoCRM.coql", "READ"))
    body = await call.json()
    text = body.get("select_query") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise required_param_missing("select_query")
    try:
        query = parse(text)
        module = call.org.modules.get(query.module)
        if module is not None:
            call.require_module(module, "READ")
        result = execute(call.org, call.user, query, call.version)
    except CoqlError as error:
        raise ZohoError(400, error.code, error.message, error.details) from None
    # Billed by the LIMIT asked for: 1 / 2 / 3 credits up to 200 / 1,000 / 2,000 rows.
    call.charge(cost("POST", "coql", query.limit))
    if not result.rows:
        return empty(204)
    return json_response({"data": result.rows, "info": {
        "count": len(result.rows), "more_records": result.more_records}})


def routes(state: EmulatorState) -> list[BaseRoute]:
    return [Route("/crm/{version}/coql", api(state, "coql", _coql), methods=["POST"])]
