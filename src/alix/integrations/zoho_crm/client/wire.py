"""The typed values the client returns: metadata, records, write results, channels, jobs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import RecordError, RequestRejected
from .timestamps import parse_optional


@dataclass(frozen=True)
class Module:
    """A CRM module; use `api_name` in every call (doc 5.1)."""

    api_name: str
    module_name: str
    singular_label: str
    plural_label: str
    id: str
    generated_type: str
    api_supported: bool
    creatable: bool
    editable: bool
    deletable: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Module:
        return cls(
            api_name=str(data["api_name"]),
            module_name=str(data.get("module_name") or data["api_name"]),
            singular_label=str(data.get("singular_label") or ""),
            plural_label=str(data.get("plural_label") or ""),
            id=str(data.get("id") or ""),
            generated_type=str(data.get("generated_type") or "default"),
            api_supported=bool(data.get("api_supported", True)),
            creatable=bool(data.get("creatable", True)),
            editable=bool(data.get("editable", True)),
            deletable=bool(data.get("deletable", True)),
        )


@dataclass(frozen=True)
class Field:
    """A field of a module; key on `api_name`, never on the label (doc 9.15)."""

    api_name: str
    label: str
    data_type: str
    json_type: str
    length: int | None = None
    system_mandatory: bool = False
    read_only: bool = False
    custom: bool = False
    unique: bool = False
    lookup_module: str | None = None
    picklist: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Field:
        lookup = data.get("lookup") or {}
        module = lookup.get("module") if isinstance(lookup, Mapping) else None
        length = data.get("length")
        return cls(
            api_name=str(data["api_name"]),
            label=str(data.get("field_label") or data.get("display_label") or data["api_name"]),
            data_type=str(data.get("data_type") or "text"),
            json_type=str(data.get("json_type") or "string"),
            length=int(length) if isinstance(length, int | str) and str(length).isdigit() else None,
            system_mandatory=bool(data.get("system_mandatory", False)),
            read_only=bool(data.get("read_only") or data.get("field_read_only")),
            custom=bool(data.get("custom_field", False)),
            unique=bool(data.get("unique")),
            lookup_module=str(module["api_name"]) if isinstance(module, Mapping) else None,
            picklist=tuple(
                str(v.get("actual_value"))
                for v in data.get("pick_list_values") or []
                if isinstance(v, Mapping)
            ),
        )


@dataclass(frozen=True)
class Org:
    """The CRM organisation behind the connection."""

    id: str
    company_name: str
    time_zone: str
    currency: str
    multi_currency: bool
    type: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Org:
        return cls(
            id=str(data.get("id") or ""),
            company_name=str(data.get("company_name") or ""),
            time_zone=str(data.get("time_zone") or ""),
            currency=str(data.get("iso_code") or data.get("currency") or ""),
            multi_currency=bool(data.get("mc_status", False)),
            type=str(data.get("type") or "Production"),
        )


@dataclass(frozen=True)
class User:
    """A CRM user (the connection's API user, for `current_user`)."""

    id: str
    name: str
    email: str
    time_zone: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> User:
        name = data.get("full_name") or " ".join(
            str(p) for p in (data.get("first_name"), data.get("last_name")) if p
        )
        return cls(
            id=str(data.get("id") or ""),
            name=str(name or ""),
            email=str(data.get("email") or ""),
            time_zone=str(data.get("time_zone") or ""),
        )


@dataclass(frozen=True)
class Currency:
    """A currency of a multi-currency org; `exchange_rate` arrives as a string (doc 5.6)."""

    id: str
    iso_code: str
    name: str
    symbol: str
    exchange_rate: Decimal
    is_base: bool
    is_active: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Currency:
        raw = data.get("exchange_rate")
        try:
            rate = Decimal(str(raw or "1"))
        except InvalidOperation as exc:
            raise RequestRejected(
                f"Zoho sent currency {data.get('iso_code')} with an unreadable exchange rate "
                f"{raw!r}."
            ) from exc
        return cls(
            id=str(data.get("id") or ""),
            iso_code=str(data.get("iso_code") or ""),
            name=str(data.get("name") or ""),
            symbol=str(data.get("symbol") or ""),
            exchange_rate=rate,
            is_base=bool(data.get("is_base", False)),
            is_active=bool(data.get("is_active", True)),
        )


@dataclass(frozen=True, slots=True)
class Record:
    """One CRM record: its id and times typed (UTC), every value as Zoho sent it."""

    id: str
    modified_time: datetime | None
    created_time: datetime | None
    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Record:
        return cls(
            id=str(data["id"]),
            modified_time=parse_optional(data.get("Modified_Time")),
            created_time=parse_optional(data.get("Created_Time")),
            values=dict(data),
        )


@dataclass(frozen=True)
class WriteSuccess:
    """Zoho accepted input record number `index`; `action` is insert or update for upserts."""

    index: int
    id: str
    modified_time: datetime | None
    created_time: datetime | None = None
    action: str | None = None
    duplicate_field: str | None = None

    ok = True


@dataclass(frozen=True)
class WriteFailure:
    """Zoho refused input record number `index`; the rest of the batch is unaffected."""

    index: int
    error: RecordError

    ok = False


WriteResult = WriteSuccess | WriteFailure


@dataclass(frozen=True)
class DeletedRecord:
    """An entry of the deleted-records list (doc 4.7); names are null for permanent deletions."""

    id: str
    deleted_time: datetime | None
    type: str
    display_name: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeletedRecord:
        return cls(
            id=str(data["id"]),
            deleted_time=parse_optional(data.get("deleted_time")),
            type=str(data.get("type") or "recycle"),
            display_name=data.get("display_name"),
        )


@dataclass(frozen=True)
class Channel:
    """A notification channel (doc 6): Zoho POSTs changed ids of `events` to `notify_url`."""

    channel_id: str
    events: tuple[str, ...]
    notify_url: str
    token: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class CoqlPage:
    """One COQL call's rows (as Zoho sent them) and whether more rows match."""

    rows: list[dict[str, Any]]
    more_records: bool


@dataclass(frozen=True)
class BulkReadJob:
    """A bulk read job (doc 7): ADDED, QUEUED, IN PROGRESS, COMPLETED or FAILURE."""

    id: str
    state: str
    count: int | None = None
    more_records: bool = False
    next_page_token: str | None = None
    download_url: str | None = None

    @property
    def done(self) -> bool:
        return self.state in ("COMPLETED", "FAILURE")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BulkReadJob:
        result = data.get("result") or {}
        count = result.get("count")
        return cls(
            id=str(data["id"]),
            state=str(data.get("state") or "ADDED"),
            count=int(count) if count is not None else None,
            more_records=bool(result.get("more_records", False)),
            next_page_token=result.get("next_page_token"),
            download_url=result.get("download_url"),
        )
