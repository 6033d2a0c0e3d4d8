"""Zoho's error envelope: one exception type carrying code, HTTP status, message and details."""

from __future__ import annotations

from typing import Any


class ZohoError(Exception):
    """A top-level API error rendered as Zoho's bare envelope (see zoho-crm-api.md section 8.1)."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "message": self.message,
                "status": "error"}


def record_error(code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    """A per-record error entry, as it sits inside `data[]` of a write response."""
    return {"code": code, "details": details, "message": message, "status": "error"}


def invalid_token() -> ZohoError:
    return ZohoError(401, "INVALID_TOKEN", "invalid oauth token")


def authentication_failure() -> ZohoError:
    return ZohoError(401, "AUTHENTICATION_FAILURE", "Authentication failed")


def scope_mismatch() -> ZohoError:
    return ZohoError(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL")


def invalid_module(index: int = 0) -> ZohoError:
    return ZohoError(400, "INVALID_MODULE", "the module name given seems to be invalid",
                     {"resource_path_index": index})


def required_param_missing(name: str) -> ZohoError:
    return ZohoError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                     {"param_name": name})


def invalid_url() -> ZohoError:
    return ZohoError(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a "
                     "correct one")


def too_many_requests(message: str) -> ZohoError:
    return ZohoError(429, "TOO_MANY_REQUESTS", message)
