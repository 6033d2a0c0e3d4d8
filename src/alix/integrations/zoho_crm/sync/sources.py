"""What the sync core reads from the configuration, from Zoho records and from the outbox.

The configuration is `config.py`'s own frozen values, imported under the names the core uses:
config.py is pure (import-linter checks it with the core), so nothing needs re-declaring.
Zoho records and outbox rows are structural types instead: `client.wire.Record` and
`customers.outbox.OutboxEntry` satisfy them, and the core may not import those modules
(importing `client.wire` runs `client/__init__`, which pulls in httpx; outbox.py holds
SQLAlchemy queries).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from alix.customers.domain import Operation
from alix.customers.fields import Entity
from alix.integrations.zoho_crm.config import MappedField as Row
from alix.integrations.zoho_crm.config import MapperConfig as Mapper
from alix.integrations.zoho_crm.config import ModuleConfig as Module
from alix.integrations.zoho_crm.config import SyncConfiguration as Configuration

__all__ = ["Configuration", "Mapper", "Module", "OutboxRow", "Row", "ZohoRecord"]


class ZohoRecord(Protocol):
    """A Zoho record as the client returns it (client.wire.Record)."""

    @property
    def id(self) -> str: ...
    @property
    def modified_time(self) -> datetime | None: ...
    @property
    def values(self) -> Mapping[str, Any]: ...


class OutboxRow(Protocol):
    """A captured ALIX change as the push reads it (alix.customers.outbox.OutboxEntry)."""

    @property
    def id(self) -> int: ...
    @property
    def entity(self) -> Entity: ...
    @property
    def entity_id(self) -> int: ...
    @property
    def customer_id(self) -> int: ...
    @property
    def operation(self) -> Operation: ...
