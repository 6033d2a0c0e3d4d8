"""What an id is at the edge: a positive 63-bit integer, for path parameters and bodies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from alix.db.base import MAX_ID

__all__ = ["MAX_ID", "IdPath"]

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="An id: 1 to 2^63 - 1.")]
