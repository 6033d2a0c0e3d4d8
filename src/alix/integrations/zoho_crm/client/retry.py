"""How long to wait between attempts, and when to give up."""

from __future__ import annotations

from dataclasses import dataclass


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

    def allows(self, attempt: int, elapsed: float, delay: float) -> bool:
        """Whether another attempt fits after `attempt` failures and `elapsed` seconds."""
        return attempt < self.max_attempts and elapsed + delay <= self.budget
