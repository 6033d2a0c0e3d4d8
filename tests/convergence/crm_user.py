"""A Zoho CRM user other than ALIX's, editing Accounts and Contacts over the emulator's REST API.

It speaks plain HTTP (no ALIX code), so what it writes and reads is independent of the sync
under test. Faults are switched off while it works; a token expired by a fault is minted again.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from zoho_emulator.testing import EmulatorServer

SELLER = "5725767000000411002"  # Sam Seller, a user of the emulator's default org
API = "/crm/v8"
ACCOUNT_FIELDS = ("Account_Name", "Phone", "Website", "Active", "Currency", "Billing_Street",
                  "Billing_City", "Billing_State", "Billing_Code", "Billing_Country")
CONTACT_FIELDS = ("First_Name", "Last_Name", "Email", "Phone", "Account_Name")


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client of the run: loading the CA bundle costs ~0.1 s."""
    return ssl.create_default_context()


@dataclass(frozen=True)
class CrmRecord:
    """One record as the CRM user sees it: its id and field values (lookups as their id)."""

    id: str
    values: Mapping[str, Any]


class CrmUser:
    """Sam Seller at his keyboard: lists, creates, edits and deletes records."""

    def __init__(self, emu: EmulatorServer, user_id: str = SELLER) -> None:
        self.emu = emu
        self.user_id = user_id
        self.http = httpx.Client(base_url=emu.base_url, timeout=30, verify=tls_context())
        self.token = ""

    def close(self) -> None:
        self.http.close()

    def control(self, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The emulator's test control, over this user's kept-alive connection (a new client
        per call, as EmulatorServer.control makes, costs ~0.1 s of TLS set-up each)."""
        response = self.http.post(f"/__emulator__/{path}", json=dict(body or {}))
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def _mint(self) -> str:
        creds = self.control("self-client", {"user_id": self.user_id})
        response = self.http.post("/oauth/v2/token", data={
            "grant_type": "refresh_token", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"], "refresh_token": creds["refresh_token"]})
        return str(response.json()["access_token"])

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for _ in range(2):
            if not self.token:
                self.token = self._mint()
            response = self.http.request(
                method, API + path, headers={"Authorization": f"Zoho-oauthtoken {self.token}"},
                **kwargs)
            if response.status_code != 401:
                return response
            self.token = ""  # expired by a fault (or by the clock): mint another
        return response

    def records(self, module: str) -> list[CrmRecord]:
        """Every live record of the module (the scenarios stay far below one page)."""
        fields = ACCOUNT_FIELDS if module == "Accounts" else CONTACT_FIELDS
        response = self._call("GET", f"/{module}",
                              params={"fields": ",".join(fields), "per_page": "200"})
        if response.status_code == 204:
            return []
        if response.status_code != 200:
            raise AssertionError(f"The CRM user could not list {module}: "
                                 f"{response.status_code} {response.text}")
        body = response.json()
        assert not body["info"]["more_records"], "a scenario outgrew one page of records"
        return [CrmRecord(str(r["id"]), {f: _plain(r.get(f)) for f in fields})
                for r in body["data"]]

    def create(self, module: str, values: Mapping[str, Any]) -> str:
        response = self._call("POST", f"/{module}", json={"data": [dict(values)]})
        item = _check(response, f"create {module}")
        return str(item["details"]["id"])

    def update(self, module: str, record_id: str, values: Mapping[str, Any]) -> None:
        response = self._call("PUT", f"/{module}",
                              json={"data": [{"id": record_id, **dict(values)}]})
        _check(response, f"update {module} {record_id}")

    def delete(self, module: str, record_id: str) -> None:
        response = self._call("DELETE", f"/{module}", params={"ids": record_id})
        _check(response, f"delete {module} {record_id}")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):  # a lookup: {"name", "id"}
        return str(value.get("id"))
    return value


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    body = response.json() if response.content else {}
    items = body.get("data") if isinstance(body, dict) else None
    if response.status_code >= 300 or not items or items[0].get("status") != "success":
        raise AssertionError(f"The CRM user could not {what}: {response.status_code} {body}")
    first: dict[str, Any] = items[0]
    return first
