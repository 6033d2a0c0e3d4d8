"""The root of ALIX's error tree: every package's errors derive from AlixError.

    AlixError
    +-- NotFound            the row does not exist in this organisation (404)
    +-- Forbidden           the user may not do this (403)
    +-- Conflict            the request contradicts the current state (409)
    +-- ValidationFailed    field-level problems with the input (422)
"""

from __future__ import annotations

from collections.abc import Mapping


class AlixError(Exception):
    """Base of all ALIX errors."""


class NotFound(AlixError):
    """The row does not exist, or belongs to another organisation."""


class Forbidden(AlixError):
    """The acting user lacks the role this needs."""


class Conflict(AlixError):
    """The request contradicts the current state."""


class ValidationFailed(AlixError):
    """Input was refused; `errors` maps a field name (or "" for the whole) to messages."""

    def __init__(self, errors: Mapping[str, str | list[str]]) -> None:
        normalized = {k: [v] if isinstance(v, str) else list(v) for k, v in errors.items()}
        self.errors: dict[str, list[str]] = normalized
        summary = "; ".join(f"{k or 'input'}: {', '.join(v)}" for k, v in normalized.items())
        super().__init__(summary)
