"""The org's edition, read from GET /org's licence details (the Org model leaves them out)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import Harness, _json

pytestmark = pytest.mark.anyio


def org(**fields: Any) -> dict[str, Any]:
    return {"id": "60012345", "company_name": "Acme", "type": "production", **fields}


def answering(body: dict[str, Any]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response | None:
        if request.url.path == "/crm/v8/org":
            return _json(200, body)
        return None

    return handle


async def test_the_edition_is_the_paid_type_of_the_licence(harness: Harness) -> None:
    harness.zoho.handler_override = answering(
        {"org": [org(license_details={"paid_type": "enterprise", "paid": True})]})
    async with harness.client() as crm:
        assert await crm.org_edition() == "enterprise"
    [call] = [r for r in harness.zoho.requests if r.url.path == "/crm/v8/org"]
    assert call.method == "GET"


async def test_without_a_licence_the_edition_is_the_org_type(harness: Harness) -> None:
    harness.zoho.handler_override = answering({"org": [org(license_details=None)]})
    async with harness.client() as crm:
        assert await crm.org_edition() == "production"


async def test_an_org_zoho_does_not_return_has_no_edition(harness: Harness) -> None:
    harness.zoho.handler_override = answering({"org": []})
    async with harness.client() as crm:
        assert await crm.org_edition() == ""
