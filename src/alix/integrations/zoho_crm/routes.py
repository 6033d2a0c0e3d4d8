"""The routers of the Zoho CRM integration, for alix.web.app.feature_routers."""

from __future__ import annotations

from fastapi import APIRouter

from . import api, notifications, pages, status_api, status_pages

ROUTERS: list[APIRouter] = [pages.router, api.router, notifications.router,
                            status_pages.router, status_api.router]
