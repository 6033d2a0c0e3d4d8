"""The customer pages through the app: forms with inline errors, detail, bulk actions, delete."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.support import Account, csrf_of, login


def _post(client: TestClient, url: str, data: dict[str, str], page: str = "/customers"):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def _create(client: TestClient, name: str) -> int:
    response = _post(client, "/customers/new", {"name": name, "currency": "EUR"})
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_the_form_keeps_values_and_shows_errors_inline(admin_client: TestClient) -> None:
    response = _post(admin_client, "/customers/new",
                     {"name": "Globex", "currency": "EUR", "email": "nope", "website": "a b"})
    assert response.status_code == 422
    html = response.text
    assert 'value="Globex"' in html and 'value="nope"' in html
    assert "is not a valid email address" in html
    assert re.search(r'id="f-website"[^>]*autofocus', html)
    assert "No customers yet" in admin_client.get("/customers").text


def test_create_then_see_edit_and_add_rows(admin_client: TestClient) -> None:
    cid = _create(admin_client, "Globex")
    page = admin_client.get(f"/customers/{cid}")
    assert "Customer Globex created." in page.text
    assert _post(admin_client, f"/customers/{cid}/contacts/new",
                 {"first_name": "Hank", "last_name": "Scorpio", "is_primary": "on"}
                 ).status_code == 303
    missing = _post(admin_client, f"/customers/{cid}/contacts/new", {"first_name": "Nobody"})
    assert missing.status_code == 422 and "Last name is required." in missing.text
    assert _post(admin_client, f"/customers/{cid}/addresses/new",
                 {"kind": "billing", "is_main": "on", "city": "Cypress Creek",
                  "province": "Oregon", "country": "United States"}).status_code == 303
    detail = admin_client.get(f"/customers/{cid}").text
    assert "Hank Scorpio" in detail and "Oregon" in detail and "United States" in detail
    edit = admin_client.get(f"/customers/{cid}/edit").text
    version = re.search(r'name="version" value="(\d+)"', edit)
    assert version is not None
    saved = _post(admin_client, f"/customers/{cid}/edit",
                  {"name": "Globex Corporation", "currency": "EUR", "is_active": "on",
                   "version": version.group(1)})
    assert saved.status_code == 303
    stale = _post(admin_client, f"/customers/{cid}/edit",
                  {"name": "Globex Again", "currency": "EUR", "version": version.group(1)})
    assert stale.status_code == 422 and "someone changed it meanwhile" in stale.text


def test_bulk_deactivate_filter_and_delete(admin_client: TestClient) -> None:
    ids = [_create(admin_client, name) for name in ("Alpha", "Beta", "Gamma")]
    response = _post(admin_client, "/customers/bulk",
                     {"action": "deactivate", "ids": str(ids[0])})
    assert response.status_code == 303
    token = csrf_of(admin_client.get("/customers").text)
    admin_client.post("/customers/bulk", data={"action": "deactivate", "csrf_token": token,
                                               "ids": [str(ids[1]), str(ids[2])]})
    inactive = admin_client.get("/customers", params={"status": "inactive"}).text
    assert all(name in inactive for name in ("Alpha", "Beta", "Gamma"))
    assert "Beta" not in admin_client.get("/customers", params={"status": "active"}).text
    assert _post(admin_client, f"/customers/{ids[1]}/delete", {}).status_code == 303
    after = admin_client.get("/customers", params={"q": "beta"}).text
    assert "Customer Beta deleted." in after and "No customer matches this search." in after


def test_another_organisation_gets_404(
    client: TestClient, admin: Account, other_org_admin: Account
) -> None:
    login(client, admin)
    cid = _create(client, "Private")
    client.cookies.clear()
    login(client, other_org_admin)
    response = client.get(f"/customers/{cid}", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "Private" not in client.get("/customers").text
