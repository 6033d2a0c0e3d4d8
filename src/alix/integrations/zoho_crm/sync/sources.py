"""What the sync core reads from the configuration and from Zoho records, as structural types.

`config.SyncConfiguration`, `client.model.Record` and `customers.outbox.OutboxEntry` satisfy
these Protocols; the core does not import them because those modules pull in SQLAlchemy and
httpx (config.py and outbox.py hold their queries, and importing `client.model` runs
`client/__init__`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from alix.customers.fields import Entity
from alix.customers.model import Operation
from alix.integrations.zoho_crm.mappers import MapperKind, ModuleKind
from alix.integrations.zoho_crm.rules import ConflictPolicy, DeletePolicy, Direction


class Row(Protocol):
    """One complete mapping row (config.MappedField)."""

    @property
    def alix_field(self) -> str: ...
    @property
    def crm_field(self) -> str: ...
    @property
    def direction(self) -> Direction: ...
    @property
    def alix_type(self) -> str: ...
    @property
    def crm_type(self) -> str: ...


class Mapper(Protocol):
    """A field mapper's complete rows (config.MapperConfig)."""

    @property
    def crm_module(self) -> str | None: ...
    @property
    def fields(self) -> Sequence[Row]: ...


class Module(Protocol):
    """A module's switch, CRM module and Account lookup (config.ModuleConfig)."""

    @property
    def active(self) -> bool: ...
    @property
    def crm_module(self) -> str | None: ...
    @property
    def account_lookup(self) -> str | None: ...


class Configuration(Protocol):
    """The frozen configuration of a run (config.SyncConfiguration)."""

    @property
    def home_currency(self) -> str: ...
    @property
    def conflict_policy(self) -> ConflictPolicy: ...
    @property
    def delete_alix_to_crm(self) -> DeletePolicy: ...

    def module(self, kind: ModuleKind) -> Module: ...

    def mapper(self, kind: MapperKind) -> Mapper: ...


class ZohoRecord(Protocol):
    """A Zoho record as the client returns it (client.model.Record)."""

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
