"""The one error tree of the Zoho CRM client; nothing from httpx escapes it.

AlixError
+-- ZohoError                      anything the Zoho client reports
    +-- ZohoFatal                  stop the run: a person must act
    |   +-- AuthenticationFailed   refresh token revoked, INVALID_TOKEN after a refresh
    |   +-- ScopeMissing           OAUTH_SCOPE_MISMATCH, NO_PERMISSION
    |   +-- ConfigurationError     unknown data centre / accounts server, bad credentials shape
    |   +-- RequestRejected        any other 4xx Zoho returns for the request as a whole
    |       +-- SchemaMismatch     a field or module named in the request no longer exists
    +-- ZohoRetriable              try again later (at `retry_at` when known); the client
    |   |                          already retried within its budget
    |   +-- RateLimited            429 TOO_MANY_REQUESTS, token endpoint "Access Denied"
    |   +-- ServerError            5xx
    |   +-- TransportFailed        connection refused, timeouts, broken streams
    +-- RecordError                one record was refused; returned in results, never raised
        +-- RecordInvalid          INVALID_DATA, MANDATORY_NOT_FOUND, anything unclassified
        +-- DuplicateRecord        DUPLICATE_DATA, carries the existing record's id
        +-- RecordLocked           RECORD_LOCKED, NOT_APPROVED, RECORD_IN_BLUEPRINT
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alix.errors import AlixError


class ZohoError(AlixError):
    """Base of everything the Zoho client raises or returns as an error."""

    def __init__(self, message: str, *, code: str = "", details: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details: dict[str, Any] = dict(details or {})


class ZohoFatal(ZohoError):
    """Retrying will not help; configuration, consent or the request must change."""


class AuthenticationFailed(ZohoFatal):
    """Zoho refused the credentials (revoked refresh token, wrong data centre, bad client)."""


class ScopeMissing(ZohoFatal):
    """The granted scopes or the API user's profile do not allow this call."""


class ConfigurationError(ZohoFatal):
    """The connection is set up wrongly (unknown accounts server, missing credentials)."""


class RequestRejected(ZohoFatal):
    """Zoho refused the request as a whole with a 4xx error."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        details: Mapping[str, Any] | None = None,
        status: int = 400,
    ):
        super().__init__(message, code=code, details=details)
        self.status = status


class SchemaMismatch(RequestRejected):
    """A field or module named in the request is unknown to Zoho; metadata must be re-read."""


class ZohoRetriable(ZohoError):
    """A transient failure that outlived the client's retry budget.

    `retry_at` is the earliest moment another try makes sense (what Zoho asked for, or the next
    backoff), or None when nobody can tell (credits return as the 24 h window rolls).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        details: Mapping[str, Any] | None = None,
        retry_at: datetime | None = None,
    ):
        super().__init__(message, code=code, details=details)
        self.retry_at = retry_at


class RateLimited(ZohoRetriable):
    """Credits or concurrency exhausted (429), or the token endpoint throttled us."""


class ServerError(ZohoRetriable):
    """Zoho answered 5xx."""


class TransportFailed(ZohoRetriable):
    """The request did not complete at the network level."""


class RecordError(ZohoError):
    """Zoho refused one record of a batch; the rest of the batch is unaffected."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        details: Mapping[str, Any] | None = None,
        field: str | None = None,
    ):
        super().__init__(message, code=code, details=details)
        self.field = field


class RecordInvalid(RecordError):
    """A value is missing, of the wrong type, too long, or otherwise refused."""


class DuplicateRecord(RecordError):
    """The record clashes with an existing one on a unique field."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "DUPLICATE_DATA",
        details: Mapping[str, Any] | None = None,
        field: str | None = None,
        existing_id: str | None = None,
        existing_module: str | None = None,
    ):
        super().__init__(message, code=code, details=details, field=field)
        self.existing_id = existing_id
        self.existing_module = existing_module


class RecordLocked(RecordError):
    """The record is locked, awaiting approval, or held by a blueprint."""


_LOCKED_CODES = frozenset(
    {"RECORD_LOCKED", "NOT_APPROVED", "RECORD_IN_BLUEPRINT", "CANNOT_PERFORM_ACTION"}
)


def record_error(entry: Mapping[str, Any], *, module: str, index: int) -> RecordError:
    """Translate one `data[]` error entry of a write response into a typed RecordError."""
    code = str(entry.get("code") or "UNKNOWN")
    details = entry.get("details") or {}
    if not isinstance(details, Mapping):
        details = {"value": details}
    field = details.get("api_name")
    reason = entry.get("message") or code.lower()
    where = f" on {field}" if field else ""
    message = f"Zoho refused {module} record #{index}{where}: {code} ({reason})."
    if code == "DUPLICATE_DATA":
        duplicate = details.get("duplicate_record") or {}
        module_info = duplicate.get("module") or {}
        existing = duplicate.get("id")
        return DuplicateRecord(
            f"{message[:-1]}, existing record {existing}." if existing else message,
            details=details,
            field=field,
            existing_id=str(existing) if existing is not None else None,
            existing_module=module_info.get("api_name") or module,
        )
    if code in _LOCKED_CODES:
        return RecordLocked(message, code=code, details=details, field=field)
    return RecordInvalid(message, code=code, details=details, field=field)
