"""The ASGI entry point for process managers: `uvicorn --factory alix.web.asgi:create`.

Each web process (a uvicorn or gunicorn worker) calls `create` once: it reads the settings from
the environment, configures logging, and builds its own container and app. Nothing is shared
between processes but the database (and PROMETHEUS_MULTIPROC_DIR for the metrics).
"""

from __future__ import annotations

from fastapi import FastAPI

from alix.bootstrap import build_container
from alix.settings import Settings
from alix.web.app import create_app
from alix.web.logging_setup import configure_logging


def create() -> FastAPI:
    """Build one web process's app from the environment (ALIX_* settings)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.effective_log_format)
    return create_app(build_container(settings))
