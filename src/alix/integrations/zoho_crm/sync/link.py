"""The link (the memory of one synced pair) and the ALIX side as the plans read it (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .kinds import LinkKind
from .normalize import SyncValue


@dataclass(frozen=True, slots=True)
class Link:
    """One synced pair and its base: every mapped value as both sides last agreed.

    Unique on (connection, kind, zoho_id) and on (connection, kind, alix_id). A tombstoned link
    remembers a deletion: the survivor is never re-created silently.
    """

    kind: LinkKind
    alix_id: int
    zoho_id: str
    base: Mapping[str, SyncValue] = field(default_factory=dict)
    base_modified_time: datetime | None = None  # Zoho's Modified_Time when they last agreed
    base_version: int | None = None  # the ALIX version when they last agreed
    tombstoned: bool = False


@dataclass(frozen=True, slots=True)
class Current:
    """An ALIX record now: its mapped values (canonical, mapping.from_alix) and when it changed."""

    alix_id: int
    values: Mapping[str, SyncValue]
    version: int
    modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class Parent:
    """The customer a contact or address hangs off, on both sides.

    `alix_id` None: the customer this same plan creates from that Account; `zoho_id` None: the
    Account this same push creates for that customer. The shell fills the id in once created.
    """

    zoho_id: str | None
    alix_id: int | None
