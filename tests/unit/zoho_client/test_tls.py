"""Clients built in one process share one TLS context: each job opens a client, and loading the
CA bundle for a new context (about 65 ms) was most of a hint job's time (issue 14)."""

from __future__ import annotations

import ssl

import pytest

from alix.integrations.zoho_crm.client import InMemoryTokenStore, ZohoCrmClient

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _contexts(client: ZohoCrmClient) -> list[ssl.SSLContext]:
    """The TLS context each of the client's connection pools opens connections with."""
    https = [client._api, client._accounts_http]  # what the pools hold
    return [h._transport._pool._ssl_context for h in https]  # type: ignore[attr-defined]


def _connect(connection_id: str) -> ZohoCrmClient:
    return ZohoCrmClient.connect(client_id="id", client_secret="secret", refresh_token="r",
                                 connection_id=connection_id, store=InMemoryTokenStore(),
                                 location="us")


async def test_two_connections_share_one_tls_context_that_verifies_certificates() -> None:
    async with _connect("1") as first, _connect("2") as second:
        contexts = {id(c) for c in [*_contexts(first), *_contexts(second)]}
        assert len(contexts) == 1
        context = _contexts(first)[0]
        assert context.verify_mode is ssl.CERT_REQUIRED
        assert context.check_hostname
