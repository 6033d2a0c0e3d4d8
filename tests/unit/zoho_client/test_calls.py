"""Request and response shapes of upsert, search, COQL, deleted records and channels."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from alix.integrations.zoho_crm.client import RequestRejected, WriteSuccess

from .conftest import START, Harness, _error, _json

pytestmark = pytest.mark.anyio

EXPIRY = "2026-05-20T15:00:00+03:00"


def zoho(request: httpx.Request) -> httpx.Response | None:
    path, method = request.url.path, request.method
    if path == "/crm/v8/Accounts/upsert":
        return _json(
            200,
            {
                "data": [
                    {
                        "code": "SUCCESS",
                        "status": "success",
                        "action": "update",
                        "duplicate_field": "Account_Name",
                        "message": "record updated",
                        "details": {"id": "42", "Modified_Time": "2026-05-14T12:51:02+03:00"},
                    }
                ]
            },
        )
    if path == "/crm/v8/Accounts/search":
        page = int(request.url.params["page"])
        rows = [{"id": str(page * 1000 + n)} for n in range(200)]
        return _json(200, {"data": rows, "info": {"more_records": True}})
    if path == "/crm/v8/coql":
        return httpx.Response(204)
    if path == "/crm/v8/Accounts/deleted":
        return _json(
            200,
            {
                "data": [
                    {
                        "id": "2",
                        "type": "permanent",
                        "display_name": None,
                        "deleted_time": "2026-05-14T13:00:00+03:00",
                        "deleted_by": None,
                    },
                    {
                        "id": "1",
                        "type": "recycle",
                        "display_name": "Acme",
                        "deleted_time": "2026-05-14T12:30:00+03:00",
                    },
                ],
                "info": {"more_records": False},
            },
        )
    if path == "/crm/v8/actions/watch":
        if method == "POST":
            item = json.loads(request.content)["watch"][0]
            if item["channel_id"] == "bad":
                return _json(
                    202,
                    {
                        "watch": [
                            {
                                "code": "INVALID_DATA",
                                "status": "error",
                                "message": "invalid notify_url",
                                "details": {},
                            }
                        ]
                    },
                )
            return _json(
                201,
                {
                    "watch": [
                        {
                            "code": "SUCCESS",
                            "status": "success",
                            "details": {
                                "events": [
                                    {"channel_expiry": EXPIRY, "channel_id": item["channel_id"]}
                                ]
                            },
                        }
                    ]
                },
            )
        if method == "GET":
            return _json(
                200,
                {
                    "watch": [
                        {
                            "channel_id": "7",
                            "events": ["Accounts.all"],
                            "notify_url": "https://h.example/z",
                            "token": "t",
                            "channel_expiry": EXPIRY,
                        }
                    ],
                    "info": {"more_records": False},
                },
            )
        if method == "PATCH":
            return _json(
                200,
                {
                    "watch": [
                        {
                            "code": "SUCCESS",
                            "status": "success",
                            "details": {
                                "events": [{"channel_expiry": "2026-05-25T15:00:00+03:00"}]
                            },
                        }
                    ]
                },
            )
        if method == "DELETE":
            return _json(200, {"watch": [{"code": "SUCCESS", "status": "success"}]})
    return _error(404, "INVALID_URL_PATTERN")


def sent(harness: Harness, path: str) -> list[httpx.Request]:
    return [q for q in harness.zoho.requests if q.url.path == path]


async def test_upsert_names_the_duplicate_check_fields_and_reports_the_action(
    harness: Harness,
) -> None:
    harness.zoho.handler_override = zoho
    async with harness.client() as client:
        [result] = await client.upsert(
            "Accounts", [{"Account_Name": "Acme"}], duplicate_check_fields=["Account_Name"]
        )
    assert isinstance(result, WriteSuccess)
    assert (result.id, result.action, result.duplicate_field) == ("42", "update", "Account_Name")
    body = json.loads(sent(harness, "/crm/v8/Accounts/upsert")[0].content)
    assert body["duplicate_check_fields"] == ["Account_Name"] and body["trigger"] == []


async def test_search_stops_at_zohos_2000_record_ceiling(harness: Harness) -> None:
    harness.zoho.handler_override = zoho
    async with harness.client() as client:
        found = await client.search("Accounts", "(Account_Name:starts_with:A)")
    assert len(found) == 2000 and len(sent(harness, "/crm/v8/Accounts/search")) == 10


async def test_an_empty_coql_answer_is_an_empty_page(harness: Harness) -> None:
    harness.zoho.handler_override = zoho
    async with harness.client() as client:
        page = await client.coql(
            "select Account_Name from Accounts where id is not null limit 2000"
        )
        assert client.session.credits.by_operation["coql"] == 3  # 2,000 rows cost 3 [INF]
    assert page.rows == [] and page.more_records is False


async def test_deleted_records_come_oldest_first_in_utc(harness: Harness) -> None:
    harness.zoho.handler_override = zoho
    async with harness.client() as client:
        deleted = await client.deleted_since("Accounts", START)
    assert [d.id for d in deleted] == ["1", "2"]
    assert deleted[0].deleted_time == START + timedelta(minutes=30)
    assert sent(harness, "/crm/v8/Accounts/deleted")[0].headers["If-Modified-Since"] == (
        "2026-05-14T09:00:00+00:00"
    )


async def test_notification_channels_round_trip(harness: Harness) -> None:
    harness.zoho.handler_override = zoho
    async with harness.client() as client:
        channel = await client.create_channel(
            "7",
            ["Accounts.all"],
            "https://h.example/z",
            token="t",
            expires_at=START + timedelta(days=6),
        )
        assert channel.expires_at == START + timedelta(days=6, hours=3)  # what Zoho granted
        renewed = await client.renew_channel("7", START + timedelta(days=11))
        assert renewed.expires_at == START + timedelta(days=11, hours=3)
        assert [c.channel_id for c in await client.list_channels()] == ["7"]
        await client.delete_channels(["7"])
        with pytest.raises(RequestRejected, match="INVALID_DATA"):
            await client.create_channel("bad", ["Accounts.all"], "ftp://nope")
        with pytest.raises(RequestRejected, match="50 characters"):
            await client.create_channel("8", ["Accounts.all"], "https://h.example", token="x" * 51)
    create = json.loads(sent(harness, "/crm/v8/actions/watch")[0].content)["watch"][0]
    assert create["channel_expiry"] == "2026-05-20T09:00:00+00:00"
    assert create["notify_on_related_action"] is False
    patch = next(q for q in harness.zoho.requests if q.method == "PATCH")
    assert json.loads(patch.content)["watch"][0]["events"] == ["Accounts.all"]
    delete = next(q for q in harness.zoho.requests if q.method == "DELETE")
    assert delete.url.params["channel_ids"] == "7"
