"""JSON replies the way Zoho sends them: one compact body, `application/json;charset=UTF-8`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from .errors import ZohoError

JSON_TYPE = "application/json;charset=UTF-8"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def json_response(body: Any, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    return Response(_dumps(body).encode(), status, headers=headers, media_type=JSON_TYPE)


def empty(status: int, headers: Mapping[str, str] | None = None) -> Response:
    """204 and 304 carry no body at all (section 9.3)."""
    return Response(b"", status, headers=headers)


def error_response(error: ZohoError) -> Response:
    return json_response(error.body(), error.status)
