"""The composition root: one Starlette app serving accounts server, CRM API and test control.

Routes come from one `routes(state)` function per module file. Part 2 adds its own files
(notifications, upsert, search, COQL, bulk read) and passes their routes as `extra_routes`; they
are mounted before the generic `/crm/{version}/{module}/...` record routes so they win.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from . import control_routes, features, metadata_routes, oauth_routes, record_routes
from .errors import ZohoError, invalid_url
from .responses import error_response
from .state import EmulatorState


async def _http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    if status == 405:
        return error_response(ZohoError(400, "INVALID_REQUEST_METHOD",
                                        "The http request method type is not a valid one"))
    return error_response(invalid_url())


def create_app(state: EmulatorState | None = None, *,
               extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """An ASGI app over `state` (a fresh default state when None), exposed as `app.state.emu`."""
    state = state or EmulatorState()
    routes: list[BaseRoute] = [
        *features.routes(state),  # part 2: its control actions precede the generic ones
        *control_routes.routes(state),
        *oauth_routes.routes(state),
        *metadata_routes.routes(state),
        *extra_routes,
        *record_routes.routes(state),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.emu = state
    return app
