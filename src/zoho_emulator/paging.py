"""Page tokens for listing past the `page` window: bound to query and user, expiring in 24 h."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any


@dataclass
class PageToken:
    """Where a listing stopped: the last sort key served and how many records so far."""

    token: str
    org_id: str
    user_id: str
    module: str
    binding: tuple[Any, ...]
    last_key: Any
    served: int
    expires: float


class PageTokens:
    """Issued page tokens by their string; tokens expired for a day are purged hourly."""

    def __init__(self) -> None:
        self.tokens: dict[str, PageToken] = {}
        self._purged_at = 0.0

    def issue(self, org_id: str, user_id: str, module: str, binding: tuple[Any, ...],
              last_key: Any, served: int, expires: float) -> PageToken:
        token = PageToken(secrets.token_hex(48), org_id, user_id, module, binding, last_key,
                          served, expires)
        self.tokens[token.token] = token
        return token

    def get(self, token: str) -> PageToken | None:
        return self.tokens.get(token)

    def purge(self, now: float) -> None:
        """Drop tokens expired for more than a day, so long runs do not grow without bound.

        Runs at most once per emulator hour: it walks every token.
        """
        if now - self._purged_at < 3600:
            return
        self._purged_at = now
        stale = [t for t, pt in self.tokens.items() if pt.expires < now - 86_400]
        for t in stale:
            del self.tokens[t]
