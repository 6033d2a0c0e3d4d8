"""Whose sync state a call reads or writes (one connection), and the store's errors."""

from __future__ import annotations

from dataclasses import dataclass

from alix.errors import Conflict


@dataclass(frozen=True)
class SyncScope:
    """The connection every row belongs to; queries filter on it, inserts stamp both ids."""

    organisation_id: int
    connection_id: int

    def stamp(self) -> dict[str, int]:
        return {"organisation_id": self.organisation_id, "connection_id": self.connection_id}


class DuplicateLink(Conflict):
    """A link would pair a record that is already paired (the unique keys of `zoho_links`)."""
