"""Part 2 of the emulator over one state: notifications, workflows, search index, bulk jobs.

`routes(state)` builds (once per state) the collaborators, subscribes them to the change hook
in the order notifications, search index, workflows (so a workflow's field update is notified
after the write that caused it), and returns their API and test-control routes; `app.py`
mounts them ahead of part 1's generic routes. `features(state).close()` stops the callback
and bulk threads.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import bulk_routes, coql_routes, search, upsert, watch_routes
from .bulk_routes import BulkJobs
from .dispatcher import Dispatcher
from .notifications import Notifier
from .responses import json_response
from .search import SearchIndex
from .state import EmulatorState
from .workflows import RuleError, Workflows

FAULT_KNOBS = {"drop_next": int, "drop_rate": float, "duplicate_next": int,
               "duplicate_rate": float, "delay_ms": int, "reorder_window": int,
               "before_response": bool, "retries": int, "retry_delay_ms": int,
               "timeout_s": float}


class Features:
    """The part 2 collaborators of one emulator state."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.dispatcher = Dispatcher()
        self.notifier = Notifier(state, self.dispatcher)
        self.index = SearchIndex(state)
        self.workflows = Workflows(state)
        self.bulk = BulkJobs()
        state.subscribe(self.notifier.on_change)
        state.subscribe(self.index.on_change)
        state.subscribe(self.workflows.on_change)
        state.reset_hooks.append(self.reset)

    def reset(self) -> None:
        self.dispatcher.reset()
        self.notifier.reset()
        self.index.reset()
        self.workflows.reset()
        self.bulk.reset()
        self.bulk.runner.step_s = 0.05

    def close(self) -> None:
        self.dispatcher.close()
        self.bulk.runner.close()

    def control(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """Test control of part 2; raises ValueError/KeyError/TypeError on bad input."""
        if action == "notifications/faults":
            faults = self.dispatcher.faults
            for knob, kind in FAULT_KNOBS.items():
                if knob in body:
                    setattr(faults, knob, kind(body[knob]))
            if "seed" in body:
                faults.rng.seed(int(body["seed"]))
            return {k: getattr(faults, k) for k in FAULT_KNOBS}
        if action == "notifications/deliveries":
            return {"counts": dict(self.dispatcher.counts), "log": list(self.dispatcher.log),
                    "pending": self.dispatcher.pending(), "events_sent": self.notifier.sent}
        if action == "workflows":
            if "module" in body:
                org_id = str(body.get("org_id") or self.state.default_org.id)
                rule = self.workflows.add(org_id, body["module"], body["field"], body["value"],
                                          body.get("on"))
                return rule.json()
            return {"rules": [r.json() for r in self.workflows.rules],
                    "applied": self.workflows.applied}
        if action == "workflows/clear":
            self.workflows.reset()
            return {"rules": []}
        if action == "search":
            if "index_lag_seconds" in body:
                self.index.set_lag(float(body["index_lag_seconds"]))
            return {"index_lag_seconds": self.index.lag}
        if action == "bulk":
            if "step_ms" in body:
                self.bulk.runner.step_s = int(body["step_ms"]) / 1000
            return {"step_ms": int(self.bulk.runner.step_s * 1000),
                    "jobs": {j.id: j.state for j in self.bulk.jobs.values()}}
        raise KeyError(action)


ATTRIBUTE = "part2_features"
ACTIONS = ("notifications/faults", "notifications/deliveries", "workflows", "workflows/clear",
           "search", "bulk")


def features(state: EmulatorState) -> Features:
    """The part 2 collaborators of `state`, created on first use."""
    # Kept on the state itself (a plain attribute, so part 1's class needs no change);
    # a side table keyed by the state would keep every state alive through the values.
    found = getattr(state, ATTRIBUTE, None)
    if not isinstance(found, Features):
        found = Features(state)
        setattr(state, ATTRIBUTE, found)
    return found


def routes(state: EmulatorState) -> list[BaseRoute]:
    """Part 2's test-control and API routes, to mount before part 1's generic ones."""
    f = features(state)

    async def control(request: Request) -> Response:
        action = request.url.path.removeprefix("/__emulator__/")
        state.calls[f"{request.method} __emulator__/{action}"] += 1
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise TypeError("The control body must be a JSON object.")
            return json_response(f.control(action, body))
        except (RuleError, KeyError, ValueError, TypeError) as error:
            return json_response({"error": f"{type(error).__name__}: {error}"}, 400)

    control_routes: list[BaseRoute] = [
        Route(f"/__emulator__/{action}", control, methods=["GET", "POST"]) for action in ACTIONS]
    return [
        *control_routes,
        *watch_routes.routes(state, f.notifier),
        *coql_routes.routes(state),
        *bulk_routes.routes(state, f.bulk, f.dispatcher),
        *upsert.routes(state),
        *search.routes(state, f.index),
    ]
