"""`/api/docs` works offline: every asset is served by ALIX itself, none from a CDN."""

from __future__ import annotations

import re

from starlette.testclient import TestClient


def test_the_docs_page_loads_only_assets_alix_serves(admin_client: TestClient) -> None:
    page = admin_client.get("/api/docs")
    assert page.status_code == 200
    assert "://" not in page.text  # no other host: no CDN, no favicon from elsewhere
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        response = admin_client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 500, asset
    assert admin_client.get("/api/openapi.json").json()["info"]["title"] == "ALIX"


def test_the_docs_need_a_login(client: TestClient) -> None:
    assert client.get("/api/docs", follow_redirects=False).status_code in (303, 401)
