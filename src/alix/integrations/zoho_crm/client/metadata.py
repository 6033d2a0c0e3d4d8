"""Metadata calls: modules, fields (cached per module), org, current user, currencies."""

from __future__ import annotations

from typing import Any

from .errors import RequestRejected
from .session import ZohoSession
from .wire import Currency, Field, Module, Org, User

API = "/crm/v8"


class Metadata:
    """Reads CRM metadata; fields are cached until `refresh=True` or `forget(module)`."""

    def __init__(self, session: ZohoSession) -> None:
        self._session = session
        self._fields: dict[str, list[Field]] = {}

    async def modules(self) -> list[Module]:
        body = await self._get("/settings/modules", "modules")
        return [Module.from_json(m) for m in _list(body, "modules")]

    async def fields(self, module: str, *, refresh: bool = False) -> list[Field]:
        if refresh or module not in self._fields:
            body = await self._get("/settings/fields", "fields", params={"module": module})
            self._fields[module] = [Field.from_json(f) for f in _list(body, "fields")]
        return list(self._fields[module])

    def forget(self, module: str) -> None:
        """Drop the cached fields of `module` (Zoho said a field is unknown)."""
        self._fields.pop(module, None)

    async def org(self) -> Org:
        orgs = _list(await self._get("/org", "org"), "org")
        if not orgs:
            raise RequestRejected("Zoho returned no organisation for this connection.")
        return Org.from_json(orgs[0])

    async def org_edition(self) -> str:
        """The org's edition: `license_details.paid_type` of GET /org (SDK org.LicenseDetails),
        else its `type`; "" when Zoho names neither. `Org` leaves the licence out."""
        orgs = _list(await self._get("/org", "org"), "org") or [{}]
        details = orgs[0].get("license_details")
        paid_type = details.get("paid_type") if isinstance(details, dict) else None
        return str(paid_type or orgs[0].get("type") or "")

    async def current_user(self) -> User:
        body = await self._get("/users", "users", params={"type": "CurrentUser"})
        users = _list(body, "users")
        if not users:
            raise RequestRejected("Zoho returned no current user for this connection.")
        return User.from_json(users[0])

    async def currencies(self) -> list[Currency]:
        try:
            body = await self._get("/org/currencies", "currencies")
        except RequestRejected as exc:
            # Single-currency orgs answer 403 CURRENCIES_NOT_ENABLED (doc 5.6).
            if exc.code in ("CURRENCIES_NOT_ENABLED", "FEATURE_NOT_SUPPORTED"):
                return []
            raise
        return [Currency.from_json(c) for c in _list(body, "currencies")]

    async def _get(self, path: str, operation: str, params: dict[str, str] | None = None) -> Any:
        response = await self._session.request(
            "GET", f"{API}{path}", operation=operation, params=params
        )
        return response.body


def _list(body: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return []  # 204: nothing there
    value = body.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
