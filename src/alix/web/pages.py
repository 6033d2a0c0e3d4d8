"""Shell pages: login, logout, the home page and the health probe."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from alix.db.session import unit_of_work
from alix.identity.service import authenticate
from alix.web.auth import CurrentPrincipal
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


@router.get("/login", response_class=HTMLResponse, name="login")
def login_form(request: Request, next: str | None = None) -> Response:
    if getattr(request.state, "principal", None) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "shell/login.html", {"next": _safe_next(next), "email": ""})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    container: ContainerDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    with unit_of_work(container.session_factory) as session:
        user = authenticate(session, email, password)
        user_id = None if user is None else user.id
        name = "" if user is None else user.name
    if user_id is None:
        return render(
            request,
            "shell/login.html",
            {"error": "That email and password do not match an active account.",
             "email": email, "next": _safe_next(next)},
            status_code=400,
        )
    csrf = request.session.get("csrf")
    request.session.clear()
    # A fresh CSRF token at login, so a token planted before login is worthless.
    request.session["user_id"] = user_id
    if csrf is not None:
        request.session.pop("csrf", None)
    flash(request, f"Welcome, {name}.")
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    request.session.clear()
    flash(request, "You are logged out.", "info")
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse, name="home")
def home(request: Request, principal: CurrentPrincipal) -> Response:
    return render(request, "shell/home.html")
