"""Login throttling, sessions that end at logout, and what members may read (issue 17)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from alix.bootstrap import Container
from alix.db.session import unit_of_work
from alix.identity import sessions, throttle
from alix.identity.service import change_password
from alix.identity.tables import User
from alix.web.app import create_app
from tests.support import Account, csrf_of, login


def _try(client: TestClient, email: str, password: str, **headers: str) -> int:
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_of(page.text)},
                       headers=headers, follow_redirects=False).status_code


def test_the_sixth_wrong_password_in_a_minute_is_throttled(
    backend: str, client: TestClient, admin: Account
) -> None:
    assert [_try(client, admin.email, "wrong-password") for _ in range(5)] == [400] * 5
    assert _try(client, admin.email, "wrong-password") == 429
    # Even the right password waits: the attacker learns nothing while throttled.
    assert _try(client, admin.email, admin.password) == 429


def test_throttling_is_per_account_and_per_address(
    client: TestClient, admin: Account, member: Account
) -> None:
    for _ in range(6):
        _try(client, admin.email, "wrong-password")
    # Another account from the same address is still free (under the per-address limit)...
    assert _try(client, member.email, member.password) == 303


def test_the_delay_grows_exponentially_and_lifts() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    state = throttle.Failures(count=0, last_at=None)
    delays = []
    for _ in range(9):
        state = throttle.record_failure(state, start)
        delays.append(throttle.wait(state, start).total_seconds())
    assert delays == [0, 0, 0, 0, 1, 2, 4, 8, 16]
    assert throttle.wait(state, start + timedelta(seconds=16)) == timedelta(0)
    assert throttle.record_failure(state, start + throttle.FORGET_AFTER * 2).count == 1
    big = throttle.Failures(count=200, last_at=start)
    assert throttle.wait(big, start) == throttle.MAX_DELAY


def test_a_forwarded_address_counts_only_behind_a_trusted_proxy() -> None:
    assert throttle.client_address("10.0.0.5", "203.0.113.9", ()) == "10.0.0.5"
    assert throttle.client_address("10.0.0.5", "203.0.113.9, 10.0.0.5",
                                   ("10.0.0.5",)) == "203.0.113.9"
    assert throttle.client_address("10.0.0.5", None, ("10.0.0.5",)) == "10.0.0.5"


def test_a_cookie_used_after_logout_is_refused(
    backend: str, client: TestClient, admin: Account
) -> None:
    login(client, admin)
    stolen = client.cookies.get("alix_session")
    assert stolen
    home = client.get("/")
    client.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    client.cookies.clear()
    client.cookies.set("alix_session", stolen)
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/customers").status_code == 401


def test_logout_ends_that_session_only_and_a_password_change_ends_all(
    container: Container, admin: Account
) -> None:
    app = create_app(container)
    with TestClient(app) as one, TestClient(app) as two:
        login(one, admin)
        login(two, admin)
        home = one.get("/")
        one.post("/logout", data={"csrf_token": csrf_of(home.text)})
        assert two.get("/").status_code == 200
        with unit_of_work(container.session_factory) as session:
            user = session.get(User, admin.user_id)
            assert user is not None
            change_password(session, user, "a new long password")
        assert two.get("/", follow_redirects=False).status_code == 303


def test_session_cookies_are_secure_when_the_public_url_is_https(
    container: Container, admin: Account
) -> None:
    settings = container.settings.model_copy(update={"public_url": "https://alix.example"})
    secure = create_app(dataclasses.replace(container, settings=settings))
    with TestClient(secure, base_url="https://testserver") as client:
        page = client.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()


def test_sessions_are_stored_server_side(container: Container, admin: Account,
                                          client: TestClient) -> None:
    login(client, admin)
    with container.session_factory() as session:
        assert sessions.count_for_user(session, admin.user_id) == 1


def test_a_member_sees_the_job_error_message_but_no_traceback(
    client: TestClient, container: Container, admin: Account, member: Account
) -> None:
    if "noop" not in container.registry.tasks:
        container.registry.register("noop")(lambda ctx: None)
    error = ('Traceback (most recent call last):\n  File "/srv/alix/secret.py", line 3\n'
             "RuntimeError: Zoho refused the token.")
    with unit_of_work(container.session_factory) as session:
        job = container.queue.enqueue(session, "noop", organisation_id=admin.organisation_id)
        job.error = error
        job_id = job.id
    login(client, member)
    seen = client.get(f"/api/v1/jobs/{job_id}").json()["error"]
    assert seen == "RuntimeError: Zoho refused the token."
    client.cookies.clear()
    login(client, admin)
    assert client.get(f"/api/v1/jobs/{job_id}").json()["error"] == error


def test_a_session_ends_at_its_max_age_and_is_then_deleted(
    container: Container, admin: Account
) -> None:
    start, max_age = datetime(2026, 1, 1, tzinfo=UTC), timedelta(days=14)
    with unit_of_work(container.session_factory) as session:
        old = sessions.start(session, admin.user_id, start, max_age)
        assert sessions.user_of(session, old, start + max_age / 2, max_age) == admin.user_id
        assert sessions.user_of(session, old, start + max_age, max_age) is None
        sessions.start(session, admin.user_id, start + max_age, max_age)
        assert sessions.count_for_user(session, admin.user_id) == 1
