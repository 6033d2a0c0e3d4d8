"""Turning record changes into the callbacks of section 6.1 for every live, matching channel.

Every create, edit and delete publishes a `ChangeEvent` (API writes, the client's own included,
workflow field updates, cascades, test-control edits); each channel subscribed to that module
and operation gets one callback per event, carrying all its ids (a batch write is one
callback). Body shape (README, Part 2 decisions): `server_time` (epoch ms), `query_params`,
`module`, `resource_uri`, `ids`, `affected_fields` (for edits `[{"<id>": ["Field", ...]}]`, else
`[]`), `operation` (`insert` / `update` / `delete`), `channel_id`, `token`, and with
`return_affected_field_values` on edits also `affected_values`:
`[{"record_id": "<id>", "values": {"Field": value}}]` in API form.
"""

from __future__ import annotations

from typing import Any

from .channels import Channel, ChannelRegistry
from .dispatcher import Delivery, Dispatcher
from .events import ChangeEvent
from .orgs import Org, User
from .render import display_name, format_time
from .schema import Module
from .state import EmulatorState


def api_value(org: Org, module: Module, name: str, value: Any, user: User) -> Any:
    """A stored value as the API shows it, for `affected_values`."""
    f = module.fields.get(name)
    if f is None or value is None:
        return value
    if f.data_type == "datetime" and isinstance(value, int | float):
        return format_time(value, user.zone)
    if f.data_type == "ownerlookup":
        owner = org.users.get(str(value))
        return owner.ref() if owner is not None else {"id": str(value)}
    if f.data_type == "lookup" and f.lookup in org.modules:
        target = org.stores[f.lookup].records.get(value)
        name_shown = display_name(org, org.modules[f.lookup], target) if target else None
        return {"name": name_shown, "id": str(value)}
    return value


def callback_body(channel: Channel, event: ChangeEvent, org: Org, server_time_ms: int
                  ) -> dict[str, Any]:
    """The JSON Zoho POSTs to `notify_url` for one event on one channel."""
    ids = list(event.ids)
    body: dict[str, Any] = {
        "server_time": server_time_ms,
        "query_params": channel.query_params,
        "module": event.module,
        "resource_uri": channel.resource_uri(event.module),
        "ids": ids,
        "affected_fields": [],
        "operation": event.operation,
        "channel_id": channel.channel_id,
        "token": channel.token,
    }
    if event.operation != "update":
        return body
    body["affected_fields"] = [{rid: list(event.changed.get(rid, {}))} for rid in ids]
    if channel.return_affected_field_values:
        module = org.modules[event.module]
        user = org.users.get(channel.user_id) or org.admin
        body["affected_values"] = [
            {"record_id": rid, "values": {name: api_value(org, module, name, value, user)
                                          for name, value in event.changed.get(rid, {}).items()}}
            for rid in ids]
    return body


class Notifier:
    """The change listener behind `actions/watch`: matches channels, hands bodies over."""

    def __init__(self, state: EmulatorState, dispatcher: Dispatcher) -> None:
        self.state = state
        self.dispatcher = dispatcher
        self.channels = ChannelRegistry()
        self.sent = 0

    def on_change(self, event: ChangeEvent) -> None:
        org = self.state.orgs.get(event.org_id)
        if org is None or not event.ids:
            return
        now = self.state.clock.time()
        related = event.related
        for channel in self.channels.live(event.org_id, now):
            if not channel.wants(event.module, event.operation):
                continue
            if related and not channel.notify_on_related_action:
                continue
            body = callback_body(channel, event, org, int(now * 1000))
            self.sent += 1
            self.dispatcher.submit(Delivery(channel.notify_url, body, "notification"))

    def reset(self) -> None:
        self.channels.clear()
        self.sent = 0
