"""The routers of the Zoho CRM integration, for alix.web.app.feature_routers."""

from __future__ import annotations

from fastapi import APIRouter

from . import (
    api,
    conflicts_pages,
    customer_list,
    customer_panel_pages,
    decisions_api,
    notifications,
    pages,
    preview_pages,
    status_api,
    status_pages,
)

ROUTERS: list[APIRouter] = [pages.router, api.router, notifications.router,
                            status_pages.router, status_api.router,
                            customer_panel_pages.router, conflicts_pages.router,
                            preview_pages.router, decisions_api.router]

# The customer list's "Zoho CRM" column and filter, there whenever these routes are.
customer_list.install()
