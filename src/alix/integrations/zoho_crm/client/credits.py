"""API credits: what each call costs, what was spent, and what Zoho says is left."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping

# Credits per call (zoho-crm-api.md 8.2). Writes bill 1 credit per 10 records; COQL tiers by
# rows are [INF]; bulk read job cost is unconfirmed and counted as 1 here.
_FLAT: dict[str, int] = {
    "convert_lead": 5,
}


def cost(operation: str, *, records: int = 0, limit: int = 0) -> int:
    """Credits one call of `operation` is billed."""
    if operation in ("insert", "update", "upsert"):
        return max(1, math.ceil(records / 10))
    if operation == "coql":
        return 1 if limit <= 200 else 2 if limit <= 1000 else 3
    return _FLAT.get(operation, 1)


class CreditMeter:
    """Counts calls and credits spent by this client; remembers Zoho's remaining figure."""

    def __init__(self) -> None:
        self.calls = 0
        self.spent = 0
        self.remaining: int | None = None
        self.by_operation: Counter[str] = Counter()

    def record(self, operation: str, credits: int, headers: Mapping[str, str]) -> None:
        """Count one completed call; X-API-CREDITS-REMAINING appears once half is used."""
        self.calls += 1
        self.spent += credits
        self.by_operation[operation] += credits
        remaining = headers.get("x-api-credits-remaining")
        if remaining is not None and remaining.strip().isdigit():
            self.remaining = int(remaining)
