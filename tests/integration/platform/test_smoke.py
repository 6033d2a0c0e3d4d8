"""The app starts on a migrated database and serves the login page."""

from starlette.testclient import TestClient


def test_login_page_is_served(client: TestClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    assert "Log in" in response.text
