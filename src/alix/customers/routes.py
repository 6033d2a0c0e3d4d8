"""The customer master's routers, as the app mounts them: pages, then the REST API."""

from fastapi import APIRouter

from alix.customers import api, detail_pages, pages

ROUTERS: list[APIRouter] = [pages.router, detail_pages.router, api.router]
