"""Turning an API field value into its stored form, or a per-record Zoho error."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .orgs import Org
    from .schema import Field

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FieldProblem(Exception):
    """A value Zoho would refuse; becomes `{"code": ..., "details": ...}` in `data[i]`."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def _invalid(f: Field, path: str, **extra: Any) -> FieldProblem:
    return FieldProblem("INVALID_DATA", "invalid data",
                        {"api_name": f.api_name, "json_path": path, **extra})


def parse_id(value: Any) -> int | None:
    """Ids arrive as strings or numbers; anything else is not an id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 25:
        return int(value)
    return None


def _text(f: Field, value: Any, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid(f, path, expected_data_type=f.data_type)
    text = str(value)
    if f.length is not None and len(text) > f.length:
        raise FieldProblem("INVALID_DATA", "invalid data",
                           {"maximum_length": f.length, "api_name": f.api_name, "json_path": path})
    return text


def _number(f: Field, value: Any, path: str) -> int | float:
    if isinstance(value, bool):
        raise _invalid(f, path, expected_data_type=f.data_type)
    if isinstance(value, str):
        try:
            value = float(value) if f.data_type not in ("integer", "bigint") else int(value)
        except ValueError:
            raise _invalid(f, path, expected_data_type=f.data_type) from None
    if f.data_type == "integer":
        if not isinstance(value, int) or abs(value) >= 10**9:
            raise _invalid(f, path, expected_data_type="integer")
        return value
    if not isinstance(value, int | float):
        raise _invalid(f, path, expected_data_type=f.data_type)
    return value


def coerce(f: Field, value: Any, org: Org, path: str) -> Any:
    """The stored form of `value` for field `f`; None clears the field."""
    if value is None:
        return None
    kind = f.data_type
    if kind in ("text", "textarea", "phone", "website"):
        return _text(f, value, path)
    if kind == "email":
        text = _text(f, value, path)
        if not EMAIL.match(text):
            raise _invalid(f, path, expected_data_type="email")
        return text
    if kind == "picklist":
        text = _text(f, value, path)
        if text not in f.picklist:
            # Restricted picklists refuse unknown values (zoho-crm-api.md 8.1, INVALID_DATA).
            raise _invalid(f, path, supported_values=list(f.picklist))
        return text
    if kind in ("integer", "double", "currency", "decimal", "percent"):
        return _number(f, value, path)
    if kind == "bigint":
        number = _number(f, value, path)
        return str(int(number))
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _invalid(f, path, expected_data_type="boolean")
        return value
    if kind == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise _invalid(f, path, expected_data_type="date") from None
    if kind == "datetime":
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise _invalid(f, path, expected_data_type="datetime") from None
        if parsed.tzinfo is None:
            raise _invalid(f, path, expected_data_type="datetime")
        return int(parsed.timestamp())
    if kind == "lookup":
        raw = value.get("id") if isinstance(value, dict) else value
        rid = parse_id(raw)
        target = org.stores.get(f.lookup or "")
        if rid is None or target is None or target.get(rid) is None:
            raise FieldProblem("INVALID_DATA", "the related id given seems to be invalid",
                               {"api_name": f.api_name, "json_path": path, "id": str(raw)})
        return rid
    if kind == "ownerlookup":
        raw = value.get("id") if isinstance(value, dict) else value
        if str(raw) not in org.users:
            raise _invalid(f, path, expected_data_type="ownerlookup")
        return org.users[str(raw)].id
    return value
