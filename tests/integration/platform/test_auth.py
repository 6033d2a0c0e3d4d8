"""Login, logout, CSRF, API tokens, the public-route list and organisation isolation."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from alix.bootstrap import Container
from alix.db.session import unit_of_work
from alix.identity.service import create_api_token
from alix.identity.tables import User
from alix.web.public import PUBLIC_PATHS, PUBLIC_PREFIXES, is_public
from tests.support import Account, csrf_of, login


def _token_for(container: Container, account: Account) -> str:
    with unit_of_work(container.session_factory) as session:
        user = session.get(User, account.user_id)
        assert user is not None
        return create_api_token(session, user, "test")[1]


def test_login_then_logout(client: TestClient, admin: Account) -> None:
    assert client.get("/", follow_redirects=False).status_code == 303
    login(client, admin)
    home = client.get("/")
    assert home.status_code == 200
    assert "Customers" in home.text and "Integration" in home.text
    response = client.post("/logout", data={"csrf_token": csrf_of(home.text)},
                           follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_wrong_password_is_refused_with_a_message(client: TestClient, admin: Account) -> None:
    page = client.get("/login")
    response = client.post("/login", data={"email": admin.email, "password": "nope-nope",
                                           "csrf_token": csrf_of(page.text)})
    assert response.status_code == 400
    assert "do not match" in response.text


def test_form_post_without_csrf_token_is_403(client: TestClient, admin: Account) -> None:
    login(client, admin)
    response = client.post("/logout", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert "CSRF" in response.text
    forged = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403


def test_login_form_also_needs_csrf(client: TestClient, admin: Account) -> None:
    client.get("/login")
    response = client.post("/login", data={"email": admin.email, "password": admin.password})
    assert response.status_code == 403


def test_open_redirect_after_login_is_refused(client: TestClient, admin: Account) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": admin.email, "password": admin.password,
              "csrf_token": csrf_of(page.text), "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_api_token_authenticates_without_csrf(
    client: TestClient, container: Container, admin: Account
) -> None:
    token = _token_for(container, admin)
    response = client.get("/api/v1/jobs/active", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == []
    bad = client.get("/api/v1/jobs/active", headers={"Authorization": "Bearer alix_wrong"})
    assert bad.status_code == 401


def test_another_organisations_rows_are_404(
    client: TestClient, container: Container, admin: Account, other_org_admin: Account
) -> None:
    if "noop" not in container.registry.tasks:
        container.registry.register("noop")(lambda ctx: None)
    with unit_of_work(container.session_factory) as session:
        job_id = container.queue.enqueue(session, "noop", organisation_id=admin.organisation_id).id
    own = _token_for(container, admin)
    other = _token_for(container, other_org_admin)
    mine = client.get(f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {own}"})
    assert mine.status_code == 200
    assert (mine.json()["id"], mine.json()["task"]) == (job_id, "noop")
    theirs = client.get(f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {other}"})
    assert theirs.status_code == 404
    assert theirs.json() == {"detail": f"No job {job_id} in this organisation."}
    listed = client.get("/api/v1/jobs/active", headers={"Authorization": f"Bearer {other}"})
    assert listed.json() == []


def _concrete_path(path: str) -> str:
    return path.replace("{", "").replace("}", "").replace(":path", "")


def _all_paths(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, str]]:
    """Every (method, path) the app serves, walking included routers (FastAPI keeps them
    as nested objects since 0.16x)."""
    found: list[tuple[str, str]] = []
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            found += _all_paths(nested.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, Mount):
            found.append(("GET", prefix + route.path + "/app.css"))
        elif isinstance(route, APIRoute | Route):
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                found.append((method, _concrete_path(prefix + route.path)))
    return found


def test_every_route_but_the_public_ones_refuses_anonymous_access(
    client: TestClient, app: FastAPI
) -> None:
    paths = _all_paths(app.routes)
    assert len(paths) > 5
    for method, path in paths:
        response = client.request(method, path, follow_redirects=False,
                                  headers={"Accept": "application/json"})
        if is_public(path):
            continue
        assert response.status_code in (401, 403), (method, path, response.status_code)


@pytest.mark.parametrize("path", sorted(PUBLIC_PATHS))
def test_public_paths_answer_anonymously(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_static_files_are_public(client: TestClient) -> None:
    assert "/static/" in PUBLIC_PREFIXES
    response = client.get("/static/app.css")
    assert response.status_code == 200
    assert "--brand" in response.text


def test_healthz_has_no_data(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
