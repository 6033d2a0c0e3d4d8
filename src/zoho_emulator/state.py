"""Everything one emulator instance knows: orgs, OAuth, clock, faults, limits, stats, config."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock
from .events import ChangeEvent, Listener, Subscribers
from .limits import Limits
from .oauth import TokenService
from .orgs import Org, User, default_orgs
from .paging import PageTokens
from .writes import WriteContext

DEFAULT_ORG = "60012345"


@dataclass
class Config:
    """Knobs test control may change; defaults are Zoho's values."""

    page_window: int = 2_000  # records reachable with `page` (section 4.1)
    page_token_cap: int = 100_000  # records reachable with `page_token`
    page_token_lifetime: int = 86_400
    cascade_account_delete: bool = True
    sub_concurrency: int = 10  # heavy calls in flight per org, every edition (section 8.3)


@dataclass
class Faults:
    """Injected misbehaviour: latency and random error statuses (seeded, so reproducible)."""

    latency_ms: int = 0
    error_rates: dict[int, float] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(1))

    def pick_error(self) -> int | None:
        for status, rate in self.error_rates.items():
            if rate > 0 and self.rng.random() < rate:
                return status
        return None


class EmulatorState:
    """The in-process state behind one emulator app; a second instance is a second DC."""

    def __init__(self, clock: Clock | None = None, edition: str = "enterprise",
                 orgs: Callable[[str], dict[str, Org]] = default_orgs) -> None:
        self.clock = clock or Clock()
        self.edition = edition
        self._make_orgs = orgs
        self.orgs = orgs(edition)
        self.tokens = TokenService(self.clock)
        self.config = Config()
        self.faults = Faults()
        self.limits = Limits()
        self.page_tokens = PageTokens()
        self.calls: Counter[str] = Counter()
        self.subscribers = Subscribers()
        self.reset_hooks: list[Callable[[], None]] = []

    @property
    def default_org(self) -> Org:
        return self.orgs[DEFAULT_ORG]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(ChangeEvent)` after every create/edit/delete (see `events`)."""
        return self.subscribers.subscribe(listener)

    def publish(self, event: ChangeEvent) -> None:
        self.subscribers.publish(event)

    def now(self) -> int:
        """Server time at one-second resolution, as Created_Time / Modified_Time store it."""
        return int(self.clock.time())

    def writer(self, org: Org, user: User, *, via_api: bool = True,
               trigger: list[str] | None = None) -> WriteContext:
        return WriteContext(org, user, self.now(), self.publish, via_api, trigger,
                            self.config.cascade_account_delete)

    def reset(self) -> None:
        """Fresh orgs, no tokens (registered clients stay), default knobs, real time."""
        self.orgs = self._make_orgs(self.edition)
        self.tokens.clear_tokens()
        self.tokens.access_lifetime = 3600
        self.tokens.clients = {k: c for k, c in self.tokens.clients.items()
                               if not c.self_client}
        self.config = Config()
        self.faults = Faults()
        self.limits.reset()
        self.page_tokens = PageTokens()
        self.calls.clear()
        self.clock.reset()
        for hook in self.reset_hooks:
            hook()

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "credits": {org_id: {"used_24h": ledger.used, "total": ledger.total,
                                 "limit": self.orgs[org_id].daily_credits()}
                        for org_id, ledger in self.limits.ledgers.items()},
            "records": {org.id: {m: len(s) for m, s in org.stores.items() if len(s)}
                        for org in self.orgs.values()},
        }
