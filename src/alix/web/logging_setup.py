"""Logging, configured once per process: JSON or readable lines, UTC timestamps, context, no secret.

Every `logging.getLogger(...)` call in ALIX (and uvicorn's, SQLAlchemy's, httpx's) goes through
the one handler installed here, rendered by structlog. Ids bound with `log_context` (the job
runner binds the job, task, organisation and connection of the job it runs) appear on every
line logged within it, in any module, without passing them around: structlog keeps them in
context variables, which asyncio tasks and `asyncio.to_thread` inherit.

Redaction is the last line of defence, not the first: code should not log secrets at all, but
a token echoed in an exception message or a request dump is caught here, by key name and by the
shapes of the tokens ALIX handles (Zoho OAuth tokens, ALIX API tokens, Authorization headers).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Literal, TextIO

import structlog

LogFormat = Literal["json", "console"]
REDACTED = "[redacted]"

# Marks the handler this module installed, so a second call replaces it instead of doubling
# every line (uvicorn workers, tests and the CLI may all configure).
_HANDLER_MARK = "_alix_handler"

_SECRET_KEY = re.compile(
    r"(?i)(token|secret|password|passwd|authorization|api[_-]?key|cookie|credential)"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization header values: the scheme stays, the credential goes.
    (re.compile(r"(?i)\b(Zoho-oauthtoken|Bearer|Basic)\s+[^\s'\",;]+"), rf"\1 {REDACTED}"),
    # key=value and 'key': 'value' pairs whose key names a secret (query strings, dict reprs).
    (re.compile(
        r"(?i)([\w-]*(?:token|secret|password|passwd|api[_-]?key)[\w-]*['\"]?\s*[:=]\s*['\"]?)"
        r"(?!\[redacted\])[^\s'\",&;}]+"), rf"\1{REDACTED}"),
    # The OAuth callback's one-use grant code and CSRF state, in query strings (access lines).
    (re.compile(r"(?i)([?&](?:code|state)=)[^\s&'\"]+"), rf"\1{REDACTED}"),
    # Zoho's OAuth tokens (1000.<hex>.<hex>) and ALIX API tokens (alix_<urlsafe>) anywhere.
    (re.compile(r"\b1000\.[0-9a-f]{16,}\.[0-9a-f]{16,}\b"), REDACTED),
    (re.compile(r"\balix_[A-Za-z0-9_-]{20,}"), REDACTED),
)


def redact_text(text: str) -> str:
    """`text` with every credential-shaped substring replaced by [redacted]."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(_logger: object, _method: str, event: MutableMapping[str, Any]
           ) -> MutableMapping[str, Any]:
    """structlog processor: secret-named keys lose their value, strings lose token shapes."""
    for key, value in list(event.items()):
        if key != "event" and _SECRET_KEY.search(key) and value is not None:
            event[key] = REDACTED
        elif isinstance(value, str):
            event[key] = redact_text(value)
    return event


def _drop_color(_logger: object, _method: str, event: MutableMapping[str, Any]
                ) -> MutableMapping[str, Any]:
    # uvicorn passes an ANSI-coloured copy of its message as an `extra`: noise in a log file.
    event.pop("color_message", None)
    return event


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_color,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(fmt: LogFormat) -> list[Any]:
    if fmt == "json":
        return [structlog.processors.format_exc_info, redact,
                structlog.processors.JSONRenderer()]
    return [structlog.processors.format_exc_info, redact,
            structlog.dev.ConsoleRenderer(colors=False)]


def configure_logging(level: str = "INFO", fmt: LogFormat = "console",
                      stream: TextIO | None = None) -> None:
    """Send all logging to one handler on `stream` (stderr): idempotent, last call wins."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *_renderer(fmt)],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn installs handlers of its own unless told otherwise; ours is the only one.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[*_shared_processors(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


@contextmanager
def log_context(**ids: object) -> Iterator[None]:
    """Put `ids` (organisation_id, connection_id, run_id...) on every line logged within."""
    with structlog.contextvars.bound_contextvars(
            **{k: v for k, v in ids.items() if v is not None}):
        yield
