"""Shell pages: login, logout, the home page and the health probe."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from alix.db.session import unit_of_work
from alix.identity import sessions, throttle
from alix.identity.service import authenticate
from alix.identity.throttle import client_address
from alix.web.auth import SESSION_KEY, CurrentPrincipal
from alix.web.dependencies import ContainerDep
from alix.web.templating import flash, render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: an open redirect after login is a phishing aid.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return urlparse(target).path or "/"


@router.get("/healthz", include_in_schema=False)
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/login", response_class=HTMLResponse, name="login", include_in_schema=False)
def login_form(request: Request, next: str | None = None) -> Response:
    if getattr(request.state, "principal", None) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "shell/login.html", {"next": _safe_next(next), "email": ""})


def _client_address(request: Request, trusted: tuple[str, ...]) -> str:
    peer = request.client.host if request.client is not None else ""
    return client_address(peer, request.headers.get("x-forwarded-for"), trusted)


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
def login(
    request: Request,
    container: ContainerDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    address = _client_address(request, container.settings.trusted_proxies)
    now = container.clock()
    with unit_of_work(container.session_factory) as session:
        wait = throttle.retry_after(session, email, address, now)
    if wait > timedelta(0):
        # Refused before any password hashing: a throttled guess costs the server nothing.
        seconds = math.ceil(wait.total_seconds())
        refused = render(
            request,
            "shell/login.html",
            {"error": f"Too many failed attempts: wait {seconds} seconds and try again.",
             "email": email, "next": _safe_next(next)},
            status_code=429,
        )
        refused.headers["Retry-After"] = str(seconds)
        return refused
    with unit_of_work(container.session_factory) as session:
        user = authenticate(session, email, password)
        if user is None:
            throttle.failed(session, email, address, now)
            secret, name = None, ""
        else:
            throttle.succeeded(session, email)
            max_age = timedelta(seconds=container.settings.session_max_age_seconds)
            secret, name = sessions.start(session, user.id, now, max_age), user.name
    if secret is None:
        return render(
            request,
            "shell/login.html",
            {"error": "That email and password do not match an active account.",
             "email": email, "next": _safe_next(next)},
            status_code=400,
        )
    # A fresh cookie at login: a CSRF token or session planted before login is worthless.
    request.session.clear()
    request.session[SESSION_KEY] = secret
    flash(request, f"Welcome, {name}.")
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, container: ContainerDep) -> Response:
    with unit_of_work(container.session_factory) as session:
        sessions.end(session, request.session.get(SESSION_KEY))
    request.session.clear()
    flash(request, "You are logged out.", "info")
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse, name="home", include_in_schema=False)
def home(request: Request, principal: CurrentPrincipal) -> Response:
    return render(request, "shell/home.html")
