"""The change hook: listeners called after every create, edit and delete in the record store.

Part 2 (notifications, workflow rules) and `--data` persistence subscribe here:

    def on_change(event: ChangeEvent) -> None: ...
    state.subscribe(on_change)

Listeners run synchronously on the event loop right after the store changed and before the API
answers, in subscription order; they must not block for long. `changed` maps each id to the field
values the operation set (API names, stored form: lookups/users as id strings, times as the
rendered strings are not included). `via_api` is False for seeding and test-control writes.
`trigger` is the request's `trigger` list (None when the request omitted it: Zoho then runs
all automations; `[]` runs none, zoho-crm-api.md 4.3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Operation = Literal["insert", "update", "delete"]


@dataclass(frozen=True)
class ChangeEvent:
    org_id: str
    module: str
    operation: Operation
    ids: tuple[str, ...]
    user_id: str
    via_api: bool
    trigger: list[str] | None
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)
    related: bool = False  # a cascade caused by a write to another record (Account delete)


Listener = Callable[[ChangeEvent], None]


class Subscribers:
    """An ordered list of listeners; `subscribe` returns a function that unsubscribes."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def publish(self, event: ChangeEvent) -> None:
        for listener in list(self._listeners):
            listener(event)
