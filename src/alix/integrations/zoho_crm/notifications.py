"""The endpoint Zoho CRM posts notification callbacks to (public: it checks its channel's token).

Listed in alix.web.public as public and CSRF-exempt: Zoho sends no session and no signature
header, only the channel id in the path and the token it was given (zoho-crm-api.md 6.1). A
wrong or unknown pair gets a bare 403 that says nothing about which part was wrong.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from alix.bootstrap import Container
from alix.db.session import unit_of_work
from alix.web.dependencies import ContainerDep

from .sync.engine.hints_inbox import CallbackRefused, Received, receive

router = APIRouter(prefix="/integrations/zoho-crm/notifications", tags=["zoho-crm"],
                   include_in_schema=False)

_REFUSED = {"detail": "Forbidden."}
# A callback delivered again while its hints are still pending (hints_inbox.Received): folded
# by the inbox, so harmless; counted per web process, and /metrics (alix.web.metrics) shows it.
NOTIFICATION_REPLAYS = Counter(
    "alix_zoho_notification_replays",
    "Zoho CRM notification callbacks delivered again while their hints were pending.",
    registry=None)


@router.post("/{channel_id}")
async def notification(channel_id: str, request: Request, container: ContainerDep) -> Response:
    """Store the callback's hints and answer at once; the worker fetches the records."""
    try:
        body: Any = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JSONResponse(_REFUSED, status_code=403)
    try:
        received = await run_in_threadpool(_store, container, channel_id, body)
    except CallbackRefused:
        return JSONResponse(_REFUSED, status_code=403)
    if received.replay:  # harmless (the inbox folds it), counted to see how often Zoho repeats
        NOTIFICATION_REPLAYS.inc()
    return JSONResponse({"status": "received"})


def _store(container: Container, channel_id: str, body: dict[str, Any]) -> Received:
    with unit_of_work(container.session_factory) as session:
        return receive(session, container.queue, channel_id, body, container.clock())
