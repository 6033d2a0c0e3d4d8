"""Zoho's datetime strings: parsed with their offsets into UTC, rendered with an offset."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from .errors import RequestRejected


# A page of records or write answers repeats a handful of seconds: parsed once each.
@functools.lru_cache(maxsize=1024)
def parse_datetime(value: str) -> datetime:
    """Parse Zoho's `yyyy-MM-ddTHH:mm:ss±HH:mm` (or `Z`) into a timezone-aware UTC datetime.

    Zoho renders times in the API user's CRM time zone (doc section 9.7), so the offset is
    significant; a value without one is refused rather than guessed.
    """
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RequestRejected(f"Zoho sent an unreadable datetime {value!r}.") from exc
    if parsed.tzinfo is None:
        raise RequestRejected(f"Zoho sent a datetime without an offset: {value!r}.")
    return parsed.astimezone(UTC)


def parse_optional(value: object) -> datetime | None:
    """parse_datetime for values that may be absent or null."""
    return parse_datetime(value) if isinstance(value, str) and value else None


def format_datetime(value: datetime) -> str:
    """Render an aware datetime as Zoho wants it: seconds precision, explicit offset."""
    if value.tzinfo is None:
        raise ValueError(f"Naive datetime {value!r} refused: Zoho needs an offset (alix.clock).")
    return value.astimezone(UTC).replace(microsecond=0).isoformat()
