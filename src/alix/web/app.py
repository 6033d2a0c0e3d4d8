"""The FastAPI application factory: middleware, routers, error pages, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import JSONResponse, Response

from alix.bootstrap import Container
from alix.db.migrate import check_current
from alix.errors import Conflict, Forbidden, NotFound, ValidationFailed
from alix.web import pages
from alix.web.api_schema import install_api_schema
from alix.web.auth import AuthGate, CsrfGuard
from alix.web.body_limits import BodyLimits, BoundedBodies
from alix.web.storable_input import StorableInput
from alix.web.templating import render

STATIC = Path(__file__).parent / "static"


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _install_error_handlers(app: FastAPI) -> None:
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request) and exc.status_code in (403, 404, 409):
            return render(
                request,
                "shell/error.html",
                {"status": exc.status_code, "message": exc.detail},
                status_code=exc.status_code,
            )
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    async def not_found(request: Request, exc: NotFound) -> Response:
        return await http_error(request, StarletteHTTPException(404, str(exc) or "Not found."))

    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return await http_error(request, StarletteHTTPException(403, str(exc)))

    async def conflict(request: Request, exc: Conflict) -> Response:
        return await http_error(request, StarletteHTTPException(409, str(exc)))

    async def invalid(request: Request, exc: ValidationFailed) -> Response:
        return JSONResponse({"detail": str(exc), "errors": exc.errors}, status_code=422)

    async def malformed(request: Request, exc: RequestValidationError) -> Response:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            errors.setdefault(".".join(loc), []).append(str(err.get("msg", "is invalid")))
        return JSONResponse(
            {"detail": "The request was not valid.", "errors": errors}, status_code=422
        )

    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(NotFound, not_found)  # type: ignore[arg-type]
    app.add_exception_handler(Forbidden, forbidden)  # type: ignore[arg-type]
    app.add_exception_handler(Conflict, conflict)  # type: ignore[arg-type]
    app.add_exception_handler(ValidationFailed, invalid)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, malformed)  # type: ignore[arg-type]


def create_app(container: Container, *, check_migrations: bool = True) -> FastAPI:
    """Build the web app around container; refuses an un-migrated database."""
    if check_migrations:
        check_current(container.engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if container.runner is not None:
            container.runner.start()
        try:
            yield
        finally:
            if container.runner is not None:
                container.runner.stop()

    app = FastAPI(
        title="ALIX",
        version="0.1.0",
        docs_url=None,  # alix.web.api_docs serves it without a CDN
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.container = container
    settings = container.settings
    # Middleware runs outermost-last-added: sessions, then CSRF, then the auth gate.
    app.add_middleware(AuthGate, session_factory=container.session_factory, clock=container.clock,
                       max_age=timedelta(seconds=settings.session_max_age_seconds))
    app.add_middleware(CsrfGuard)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="alix_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )
    # Outermost: input is bounded and storable before sessions or anyone else reads it.
    app.add_middleware(StorableInput)
    app.add_middleware(BoundedBodies, limits=BodyLimits.from_settings(settings))
    install_api_schema(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _install_error_handlers(app)
    app.include_router(pages.router)
    install_operations(app, container)
    for router in feature_routers():
        app.include_router(router)
    return app


def install_operations(app: FastAPI, container: Container) -> None:
    """Readiness, metrics and the offline API docs: what operators and their tools call."""
    from alix.web import api_docs, health, metrics

    api_docs.install(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    metrics.install(container)


def feature_routers() -> list[APIRouter]:
    """The routers of every feature, in menu order (features add theirs here)."""
    from alix.customers.routes import ROUTERS as CUSTOMER_ROUTERS
    from alix.integrations.zoho_crm.routes import ROUTERS as ZOHO_CRM_ROUTERS
    from alix.jobs import api as jobs_api
    from alix.web import organisation

    routers: list[APIRouter] = [*CUSTOMER_ROUTERS, jobs_api.router, *ZOHO_CRM_ROUTERS,
                                organisation.router]
    return routers
