"""ALIX's logging configured into a string for one test, and the process's logging restored
afterwards (other tests must not inherit a handler writing to a closed stream)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from alix.web.logging_setup import configure_logging

_TOUCHED = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy", "httpcore",
            "asyncio", "hpack", "multipart")


@contextmanager
def captured_logs(level: str = "INFO") -> Iterator[io.StringIO]:
    """JSON log lines of everything logged at `level` and above, libraries' chatter aside."""
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level,
                    logging.getLogger(name).propagate) for name in _TOUCHED}
    out = io.StringIO()
    try:
        configure_logging(level=level, fmt="json", stream=out)
        for noisy in _TOUCHED[4:]:
            logging.getLogger(noisy).setLevel(logging.WARNING)
        yield out
    finally:
        for name, (handlers, lvl, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(lvl)
            logger.propagate = propagate
        structlog.reset_defaults()
