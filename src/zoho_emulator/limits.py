"""API credits over a rolling 24 h window and in-flight (sub-)concurrency, per org (doc 8.2-8.3)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from .errors import too_many_requests
from .orgs import Org

WINDOW = 86_400


def cost(method: str, kind: str, records: int = 1) -> int:
    """Credits for one call: 1 by default; writes 1 per 10 records (100 records = 10)."""
    if method in ("POST", "PUT", "PATCH") and kind == "records":
        return max(1, math.ceil(records / 10))
    if kind == "coql":
        # COQL tiers by the LIMIT asked: 1 / 2 / 3 credits up to 200 / 1,000 / 2,000 (8.2, INF).
        return 1 if records <= 200 else 2 if records <= 1000 else 3
    return 1


@dataclass
class Ledger:
    """Credits spent by one org; spending at time T comes back at T + 24 h."""

    spent: deque[tuple[float, int]] = field(default_factory=deque)
    used: int = 0
    total: int = 0

    def _expire(self, now: float) -> None:
        while self.spent and self.spent[0][0] <= now - WINDOW:
            self.used -= self.spent.popleft()[1]

    def charge(self, org: Org, amount: int, now: float) -> int | None:
        """Spend `amount`; returns credits remaining (None = unlimited) or raises 429."""
        self._expire(now)
        limit = org.daily_credits()
        if limit is not None and self.used + amount > limit:
            raise too_many_requests("You have exceeded the API credits limit for the day. "
                                    "Please try again later.")
        self.spent.append((now, amount))
        self.used += amount
        self.total += amount
        return None if limit is None else limit - self.used


class Limits:
    """Credit ledgers and in-flight counters for every org of one emulator."""

    def __init__(self) -> None:
        self.ledgers: dict[str, Ledger] = {}
        self.inflight: dict[str, int] = {}
        self.heavy_inflight: dict[str, int] = {}

    def ledger(self, org_id: str) -> Ledger:
        return self.ledgers.setdefault(org_id, Ledger())

    def enter(self, org: Org) -> None:
        count = self.inflight.get(org.id, 0)
        if count >= org.concurrency():
            raise too_many_requests("You have exceeded the concurrency limit.")
        self.inflight[org.id] = count + 1

    def leave(self, org: Org) -> None:
        self.inflight[org.id] = max(0, self.inflight.get(org.id, 1) - 1)

    def enter_heavy(self, org: Org, cap: int) -> None:
        """Heavy calls share a smaller cap, the same in every edition (doc 8.3)."""
        count = self.heavy_inflight.get(org.id, 0)
        if count >= cap:
            raise too_many_requests("You have exceeded the sub-concurrency limit.")
        self.heavy_inflight[org.id] = count + 1

    def leave_heavy(self, org: Org) -> None:
        self.heavy_inflight[org.id] = max(0, self.heavy_inflight.get(org.id, 1) - 1)

    @staticmethod
    def header(org: Org, remaining: int | None) -> str | None:
        """`X-API-CREDITS-REMAINING` appears once half of the day's credits are used."""
        limit = org.daily_credits()
        if remaining is None or limit is None or remaining > limit / 2:
            return None
        return str(remaining)

    def reset(self) -> None:
        self.ledgers.clear()
        self.inflight.clear()
        self.heavy_inflight.clear()
