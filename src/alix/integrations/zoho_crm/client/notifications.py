"""Notification channels (`actions/watch`): create, renew, list, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .errors import RequestRejected
from .session import ZohoSession
from .timestamps import format_datetime, parse_optional
from .wire import Channel

WATCH = "/crm/v8/actions/watch"


class ChannelCalls:
    """Manages the connection's notification channels (doc 6)."""

    def __init__(self, session: ZohoSession) -> None:
        self._session = session

    async def create(
        self,
        channel_id: str,
        events: Sequence[str],
        notify_url: str,
        *,
        token: str | None,
        expires_at: datetime | None,
    ) -> Channel:
        """Subscribe; Zoho caps `token` at 50 characters and expiry at one week (doc 6)."""
        if token is not None and len(token) > 50:
            raise RequestRejected("A Zoho notification token may not exceed 50 characters.")
        item: dict[str, Any] = {
            "channel_id": channel_id,
            "events": list(events),
            "notify_url": notify_url,
            # Related-record actions would wake us for records we do not sync.
            "notify_on_related_action": False,
            # The changed values come with each callback, so a hint that only reports our own
            # write (equal to the link's base) needs no record read at all (sync-design.md).
            "return_affected_field_values": True,
        }
        if token is not None:
            item["token"] = token
        if expires_at is not None:
            item["channel_expiry"] = format_datetime(expires_at)
        response = await self._session.request(
            "POST", WATCH, operation="watch_create", json_body={"watch": [item]}
        )
        expiry = _entry_expiry(response.body, channel_id) or expires_at
        return Channel(channel_id, tuple(events), notify_url, token, expiry)

    async def renew(self, channel_id: str, expires_at: datetime) -> Channel:
        """Move the channel's expiry; PATCH keeps the keys not sent (PUT would drop them)."""
        item = {"channel_id": channel_id, "channel_expiry": format_datetime(expires_at)}
        current = {c.channel_id: c for c in await self.list()}.get(channel_id)
        if current is None:
            raise RequestRejected(
                f"Zoho notification channel {channel_id} does not exist (expired or deleted).",
                code="NOT_SUBSCRIBED",
            )
        item_events: dict[str, Any] = {**item, "events": list(current.events)}
        response = await self._session.request(
            "PATCH", WATCH, operation="watch_update", json_body={"watch": [item_events]}
        )
        expiry = _entry_expiry(response.body, channel_id) or expires_at
        return Channel(channel_id, current.events, current.notify_url, current.token, expiry)

    async def list(self) -> list[Channel]:
        channels: list[Channel] = []
        page = 1
        while True:
            response = await self._session.request(
                "GET", WATCH, operation="watch_list", params={"page": str(page), "per_page": "200"}
            )
            body = response.body if isinstance(response.body, dict) else {}
            for item in body.get("watch") or []:
                if isinstance(item, Mapping) and item.get("channel_id") is not None:
                    channels.append(_channel(item))
            info = body.get("info")
            if not isinstance(info, dict) or not info.get("more_records"):
                return channels
            page += 1

    async def delete(self, channel_ids: Sequence[str]) -> None:
        if not channel_ids:
            return
        await self._session.request(
            "DELETE",
            WATCH,
            operation="watch_delete",
            params={"channel_ids": ",".join(channel_ids)},
        )


def _channel(item: Mapping[str, Any]) -> Channel:
    events = item.get("events") or []
    return Channel(
        channel_id=str(item["channel_id"]),
        events=tuple(str(e) for e in events),
        notify_url=str(item.get("notify_url") or ""),
        token=item.get("token"),
        expires_at=parse_optional(item.get("channel_expiry")),
    )


def _entry_expiry(body: Any, channel_id: str) -> datetime | None:
    """The expiry Zoho granted, raising the per-item error if the channel was refused."""
    entries = body.get("watch") if isinstance(body, dict) else None
    for entry in entries or []:
        if not isinstance(entry, Mapping):
            continue
        if str(entry.get("status", "success")).lower() != "success":
            raise RequestRejected(
                f"Zoho refused notification channel {channel_id}: "
                f"{entry.get('code')} ({entry.get('message')}).",
                code=str(entry.get("code") or ""),
                details=entry.get("details") if isinstance(entry.get("details"), dict) else None,
            )
        details = entry.get("details") or {}
        for event in details.get("events") or []:
            if isinstance(event, Mapping) and event.get("channel_expiry"):
                return parse_optional(event["channel_expiry"])
    return None
