"""How long to wait between attempts, what Zoho asks us to wait, and when to give up.

Why not stamina or tenacity: the session's attempt loop holds a concurrency slot while a streamed
answer is read, and tests drive it with an injected clock and sleep. stamina bounds its time with
its own monotonic clock and is silenced for tests by a global switch; tenacity would need this
module's budget as a custom `stop` and its server wait as a custom `wait`, and its
`with attempt:` blocks would also catch errors raised by the caller of a streamed download. What
remains to write is this small pure policy, so it stays here.

Zoho's throttling headers (docs/zoho-crm-api.md 8.2, and what we decided where it is unsure):
- `Retry-After` is not documented by Zoho CRM. It is honoured when present, in both of RFC 9110's
  forms (seconds, or an HTTP date), because it is the standard signal and costs nothing.
- `X-RATELIMIT-LIMIT/-REMAINING/-RESET` are not documented by Zoho CRM either; the ones seen in
  Nango's recordings are Nango's proxy. One open-source Zoho client (dereekb's @dereekb/zoho)
  reads them from Zoho and takes the reset as epoch milliseconds; other APIs send epoch seconds or
  seconds from now. [INF] So the reset is read by size (milliseconds, seconds since the epoch, or
  seconds from now), and only when no request is left in the window (`-REMAINING` is 0 or absent):
  with requests left, the 429 is the concurrency cap, which frees up within moments.
- `X-API-CREDITS-REMAINING` is documented: it appears once half the rolling 24 h credits are used.
  A 429 carrying 0 means the credits ran out, not the concurrency cap; they come back as the 24 h
  window rolls, so retrying within a minute's budget only spends more calls: give up at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# A reset above this is a timestamp in milliseconds, above _EPOCH_SECONDS one in seconds
# (2001-09-09 in seconds; nobody asks to wait 30 years).
_EPOCH_MILLISECONDS = 10**11
_EPOCH_SECONDS = 10**9


@dataclass(frozen=True)
class ServerWait:
    """A wait Zoho asked for, and the header that asked."""

    seconds: float
    header: str


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with equal jitter, bounded by attempts and by total time."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    budget: float = 60.0

    def delay(self, attempt: int, draw: float) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based); draw is in [0, 1)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return ceiling / 2 + ceiling / 2 * draw

    def wait(self, attempt: int, draw: float, asked: ServerWait | None) -> float:
        """The backoff, or Zoho's asked wait when longer: never sooner than Zoho asks.

        `max_delay` caps only our own backoff; a longer asked wait is bounded by the budget.
        """
        backoff = self.delay(attempt, draw)
        return backoff if asked is None else max(backoff, asked.seconds)

    def allows(self, attempt: int, elapsed: float, delay: float) -> bool:
        """Whether another attempt fits after `attempt` failures and `elapsed` seconds."""
        return attempt < self.max_attempts and elapsed + delay <= self.budget


def asked_wait(headers: Mapping[str, str], now: datetime) -> ServerWait | None:
    """The longest wait the throttling headers of a refused call ask for; None if none do."""
    asks = [ask for ask in (_retry_after(headers, now), _reset(headers, now)) if ask is not None]
    return max(asks, key=lambda ask: ask.seconds, default=None)


def credits_exhausted(headers: Mapping[str, str]) -> bool:
    """Whether Zoho says the org's rolling 24 h API credits are used up."""
    remaining = headers.get("x-api-credits-remaining", "").strip()
    return remaining.isdigit() and int(remaining) == 0


def _retry_after(headers: Mapping[str, str], now: datetime) -> ServerWait | None:
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return ServerWait(float(value), "Retry-After")
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: our own backoff applies
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    return _until(when, now, "Retry-After")


def _reset(headers: Mapping[str, str], now: datetime) -> ServerWait | None:
    remaining = headers.get("x-ratelimit-remaining", "").strip()
    if remaining and remaining != "0":
        return None
    try:
        value = float(headers.get("x-ratelimit-reset", "").strip())
    except ValueError:
        return None
    if value >= _EPOCH_MILLISECONDS:
        return _until(datetime.fromtimestamp(value / 1000, UTC), now, "X-RATELIMIT-RESET")
    if value >= _EPOCH_SECONDS:
        return _until(datetime.fromtimestamp(value, UTC), now, "X-RATELIMIT-RESET")
    return ServerWait(value, "X-RATELIMIT-RESET") if value > 0 else None


def _until(when: datetime, now: datetime, header: str) -> ServerWait | None:
    seconds = (when - now).total_seconds()
    return ServerWait(seconds, header) if seconds > 0 else None
