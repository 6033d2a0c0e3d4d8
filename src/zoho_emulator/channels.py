"""Notification channels (`actions/watch`): validating `watch[]` items and keeping them per org.

Keys and limits from zoho-crm-api.md section 6: `channel_id` (a long, echoed as a string),
`events` (`Module.all|create|edit|delete`), `notify_url` (query parameters are echoed back as
`query_params`), `token` (at most 50 characters), `channel_expiry` (default one hour; at most a
week from v4, a day before; past or over the maximum falls back to the default, Kaizen #170),
`return_affected_field_values`, `notify_on_related_action` (default true) and
`notification_condition` (kept and echoed; field-level filtering is not emulated).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .validation import FieldProblem

OPERATIONS = ("create", "edit", "delete")
EVENT_OF = {"insert": "create", "update": "edit", "delete": "delete"}
DEFAULT_EXPIRY = 3_600
MAX_TOKEN = 50
KEYS = ("channel_id", "events", "notify_url", "token", "channel_expiry",
        "return_affected_field_values", "notify_on_related_action", "notification_condition")


def max_expiry(version: str) -> int:
    """One week from v4 on, one day for v2 and v3 (Kaizen #170)."""
    return 86_400 if version in ("v2", "v2.1", "v3") else 7 * 86_400


@dataclass(frozen=True)
class Channel:
    """One subscription; `events` maps module api_name to the subscribed operations."""

    org_id: str
    user_id: str
    channel_id: str
    events: dict[str, tuple[str, ...]]
    notify_url: str
    expiry: int
    token: str | None = None
    return_affected_field_values: bool = False
    notify_on_related_action: bool = True
    notification_condition: list[Any] | None = None
    raw_events: tuple[str, ...] = ()
    api_base: str = "https://www.zohoapis.com"

    def resource_uri(self, module: str) -> str:
        # Zoho's samples say /crm/v2/ whatever the version used (section 6).
        return f"{self.api_base}/crm/v2/{module}"

    def wants(self, module: str, operation: str) -> bool:
        return EVENT_OF[operation] in self.events.get(module, ())

    @property
    def query_params(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.notify_url).query, keep_blank_values=True))


def _problem(code: str, message: str, api_name: str, i: int, **extra: Any) -> FieldProblem:
    return FieldProblem(code, message,
                        {"api_name": api_name, "json_path": f"$.watch[{i}].{api_name}", **extra})


def channel_id_of(raw: Any, i: int) -> str:
    if raw is None:
        raise _problem("MANDATORY_NOT_FOUND", "required field not found", "channel_id", i)
    text = str(raw)
    if isinstance(raw, bool) or not text.isdigit() or len(text) > 19:
        raise _problem("INVALID_DATA", "invalid data", "channel_id", i,
                       expected_data_type="long")
    return text


def parse_events(raw: Any, modules: set[str], i: int) -> tuple[dict[str, tuple[str, ...]],
                                                                tuple[str, ...]]:
    """`["Accounts.all", "Contacts.edit"]` -> {"Accounts": (create, edit, delete), ...}."""
    if raw is None:
        raise _problem("MANDATORY_NOT_FOUND", "required field not found", "events", i)
    if not isinstance(raw, list) or not raw:
        raise _problem("INVALID_DATA", "invalid data", "events", i, expected_data_type="jsonarray")
    events: dict[str, list[str]] = {}
    for item in raw:
        module, _, op = str(item).rpartition(".")
        if module not in modules or op not in ("all", *OPERATIONS):
            raise _problem("INVALID_DATA", "invalid data", "events", i, value=str(item))
        ops = events.setdefault(module, [])
        for one in OPERATIONS if op == "all" else (op,):
            if one not in ops:
                ops.append(one)
    return {m: tuple(ops) for m, ops in events.items()}, tuple(str(e) for e in raw)


def _url(raw: Any, i: int) -> str:
    if raw is None:
        raise _problem("MANDATORY_NOT_FOUND", "required field not found", "notify_url", i)
    parts = urlsplit(str(raw))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _problem("INVALID_DATA", "invalid data", "notify_url", i)
    return str(raw)


def _expiry(raw: Any, now: int, version: str, i: int) -> int:
    if raw is None:
        return now + DEFAULT_EXPIRY
    try:
        when = datetime.fromisoformat(str(raw))
    except ValueError:
        raise _problem("INVALID_DATA", "invalid data", "channel_expiry", i,
                       expected_data_type="datetime") from None
    if when.tzinfo is None:
        raise _problem("INVALID_DATA", "invalid data", "channel_expiry", i,
                       expected_data_type="datetime")
    at = int(when.timestamp())
    if at <= now or at > now + max_expiry(version):
        return now + DEFAULT_EXPIRY
    return at


def _flag(raw: Any, name: str, default: bool, i: int) -> bool:
    if raw is None:
        return default
    if not isinstance(raw, bool):
        raise _problem("INVALID_DATA", "invalid data", name, i, expected_data_type="boolean")
    return raw


def build(item: Any, i: int, *, org_id: str, user_id: str, modules: set[str], now: int,
          version: str, api_base: str, base: Channel | None = None) -> Channel:
    """A channel from one `watch[]` item; with `base`, only the keys sent change (PATCH)."""
    if not isinstance(item, dict):
        raise FieldProblem("INVALID_DATA", "invalid data", {"json_path": f"$.watch[{i}]"})
    channel_id = channel_id_of(item.get("channel_id"), i)
    token = item.get("token")
    if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN):
        raise _problem("INVALID_DATA", "invalid data", "token", i, maximum_length=MAX_TOKEN)
    if base is not None:
        changes: dict[str, Any] = {}
        if "events" in item:
            changes["events"], changes["raw_events"] = parse_events(item["events"], modules, i)
        if "notify_url" in item:
            changes["notify_url"] = _url(item["notify_url"], i)
        if "token" in item:
            changes["token"] = token
        if "channel_expiry" in item:
            changes["expiry"] = _expiry(item["channel_expiry"], now, version, i)
        for name in ("return_affected_field_values", "notify_on_related_action"):
            if name in item:
                changes[name] = _flag(item[name], name, getattr(base, name), i)
        if "notification_condition" in item:
            changes["notification_condition"] = item["notification_condition"]
        return replace(base, **changes)
    events, raw_events = parse_events(item.get("events"), modules, i)
    return Channel(
        org_id, user_id, channel_id, events, _url(item.get("notify_url"), i),
        _expiry(item.get("channel_expiry"), now, version, i), token,
        _flag(item.get("return_affected_field_values"), "return_affected_field_values",
              False, i),
        _flag(item.get("notify_on_related_action"), "notify_on_related_action", True, i),
        item.get("notification_condition"), raw_events, api_base)


@dataclass
class ChannelRegistry:
    """Live channels per (org, channel_id); expired ones vanish on the next look."""

    channels: dict[tuple[str, str], Channel] = field(default_factory=dict)

    def put(self, channel: Channel) -> None:
        self.channels[(channel.org_id, channel.channel_id)] = channel

    def get(self, org_id: str, channel_id: str, now: float) -> Channel | None:
        channel = self.channels.get((org_id, channel_id))
        if channel is not None and channel.expiry <= now:
            del self.channels[(org_id, channel_id)]
            return None
        return channel

    def remove(self, org_id: str, channel_id: str) -> Channel | None:
        return self.channels.pop((org_id, channel_id), None)

    def live(self, org_id: str, now: float) -> list[Channel]:
        """Unexpired channels of an org in creation order; expired ones stop silently."""
        for key in [k for k, c in self.channels.items() if c.expiry <= now]:
            del self.channels[key]
        return [c for (org, _), c in self.channels.items() if org == org_id]

    def clear(self) -> None:
        self.channels.clear()
