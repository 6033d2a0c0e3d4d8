"""Workflow rules in their simplest form: "when a record of M is created or edited, set F to V".

Rules come from test control. They run after API writes unless the write's body said
`"trigger": []` (or a trigger list without "workflow"), zoho-crm-api.md 4.3 and 9.6. The field
update goes through the normal write path as the triggering user, so it moves Modified_Time
and is notified like any edit; like Zoho's field updates it does not trigger rules again.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from .events import ChangeEvent
from .state import EmulatorState
from .writes import update


class RuleError(ValueError):
    """A rule naming a module or field the org does not have."""


@dataclass(frozen=True)
class Rule:
    id: str
    org_id: str
    module: str
    field: str
    value: Any
    on: tuple[str, ...]  # operations: "insert", "update"

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "org_id": self.org_id, "module": self.module,
                "field": self.field, "value": self.value,
                "on": ["create" if op == "insert" else "edit" for op in self.on]}


def runs_workflows(trigger: list[str] | None) -> bool:
    """None (key omitted) runs every automation; a list runs only what it names."""
    return trigger is None or "workflow" in trigger


class Workflows:
    """The rules of every org and the change listener that applies them."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.rules: list[Rule] = []
        self.applied = 0
        self._ids = itertools.count(1)

    def add(self, org_id: str, module: str, field: str, value: Any,
            on: list[str] | None = None) -> Rule:
        org = self.state.orgs.get(org_id)
        if org is None or module not in org.modules:
            raise RuleError(f"Org {org_id} has no module {module}.")
        if field not in org.modules[module].fields:
            raise RuleError(f"Module {module} of org {org_id} has no field {field}.")
        names = on or ["create", "edit"]
        if any(n not in ("create", "edit") for n in names):
            raise RuleError(f"A rule runs on create and/or edit, not {names}.")
        ops = tuple("insert" if n == "create" else "update" for n in names)
        rule = Rule(str(next(self._ids)), org_id, module, field, value, ops)
        self.rules.append(rule)
        return rule

    def reset(self) -> None:
        self.rules.clear()
        self.applied = 0

    def on_change(self, event: ChangeEvent) -> None:
        if not event.via_api or event.operation == "delete":
            return
        if not runs_workflows(event.trigger):
            return
        rules = [r for r in self.rules if r.org_id == event.org_id and r.module == event.module
                 and event.operation in r.on]
        if not rules:
            return
        org = self.state.orgs[event.org_id]
        module = org.modules[event.module]
        user = org.users.get(event.user_id) or org.admin
        store = org.store(module.api_name)
        for rule in rules:
            items = []
            for rid in event.ids:
                record = store.get(int(rid))
                if record is not None and record.get(rule.field) != rule.value:
                    items.append({"id": rid, rule.field: rule.value})
            if not items:
                continue
            # via_api=False and trigger=[]: a field update never re-triggers rules.
            ctx = self.state.writer(org, user, via_api=False, trigger=[])
            results = update(ctx, module, items)
            self.applied += sum(1 for r in results if r.get("status") == "success")
