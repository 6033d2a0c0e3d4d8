"""`/api/docs`: Swagger UI served from the fastapi-offline package, never from a CDN.

FastAPI's default page loads Swagger UI from jsDelivr and its favicon from fastapi.tiangolo.com:
blank on a machine without internet access or under a content security policy allowing only
'self'. Here the same page points at the copy of Swagger UI 5 that the fastapi-offline
package ships as package data (swagger-ui-bundle's copy is Swagger UI 4, which cannot read
FastAPI's OpenAPI 3.1), mounted under the docs' own path, so the docs need a login like the
API they describe.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS_PATH = "/api/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
# The package's data directory: swagger-ui-bundle.js, swagger-ui.css, favicon.png.
ASSETS = Path(str(files("fastapi_offline") / "static"))


def install(app: FastAPI) -> None:
    """Serve the docs page and its assets; the app is built with `docs_url=None`."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="swagger-ui")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def api_docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/api/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        )
