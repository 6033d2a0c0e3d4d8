"""Jinja2 set-up shared by every feature's pages, and the flash messages of the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from alix.web.auth import csrf_token

ALIX_ROOT = Path(__file__).resolve().parent.parent

# Every feature keeps its pages in <feature>/templates/<feature>/...; one loader finds all.
TEMPLATE_DIRS = sorted(str(p) for p in ALIX_ROOT.rglob("templates") if p.is_dir())

templates = Jinja2Templates(directory=TEMPLATE_DIRS)

FLASH_KINDS = ("success", "error", "info", "warning")


def flash(request: Request, message: str, kind: str = "success") -> None:
    """Queue a message shown once on the next page (POST -> redirect -> flash)."""
    if kind not in FLASH_KINDS:
        raise ValueError(f"Flash kind {kind!r} is unknown; use one of {', '.join(FLASH_KINDS)}.")
    request.session.setdefault("flashes", []).append([kind, message])


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    return [(k, m) for k, m in request.session.pop("flashes", [])]


def watch_job(request: Request, job_id: int) -> None:
    """Have the next page toast how background job `job_id` ended, even when it ends before
    that page first asks which jobs are running (a short sync can finish during the redirect)."""
    request.session.setdefault("watched_jobs", []).append(int(job_id))


def pop_watched_jobs(request: Request) -> list[int]:
    return [int(i) for i in request.session.pop("watched_jobs", [])]


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page inside the shell with the principal, CSRF token and flashes."""
    ctx: dict[str, Any] = {
        "principal": getattr(request.state, "principal", None),
        "csrf_token": csrf_token(request.session),
        "flashes": pop_flashes(request),
        "watched_jobs": pop_watched_jobs(request),
        "path": request.url.path,
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
