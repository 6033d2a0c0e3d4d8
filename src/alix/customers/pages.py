"""Pages of Sales -> Customers: list, detail, forms for customers, contacts and addresses."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/customers", include_in_schema=False)
