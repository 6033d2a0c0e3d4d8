"""Short dependency aliases for routes: the container and a database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    # Types only: importing a feature's routes must not load the composition root (and with it
    # every integration); the import-linter contracts check runtime imports.
    from alix.bootstrap import Container


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated["Container", Depends(get_container)]


def get_session(container: ContainerDep) -> Iterator[Session]:
    """A session for one request; routes commit explicitly what they change."""
    session = container.session_factory()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
