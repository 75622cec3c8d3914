"""Logging of ``openreel serve`` and ``openreel worker``: ``plain`` (the terminal lines they
always printed) or ``json`` (one JSON object per line and event, for log collectors).

A JSON line has ``timestamp`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``event``
when the record names one (``http.request``, ``task.created``, ``render.started``...), every
field bound with ``log_fields`` around the code that logged it (``request_id``, ``task_id``,
``key_id``, ``engine``) and the record's own ``extra`` fields (``duration_ms``, ``status``...).
Secrets are never given to a logger: a key appears only as its public id.
"""

from __future__ import annotations

import copy
import json
import logging
import logging.config
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["plain", "json"]

# One mutable dict per scope (a request, a render, a callback attempt): ``add_fields`` fills it
# in from deeper code (the key id, known once the request is authenticated), and the scope's
# owner sees it even when the deeper code ran in another task with a copied context.
_fields: ContextVar[dict[str, Any] | None] = ContextVar("openreel_log_fields", default=None)

# What every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}
_OWN_KEYS = ("timestamp", "level", "logger", "message")


@contextmanager
def log_fields(**fields: Any) -> Iterator[dict[str, Any]]:
    """Every record logged inside the block carries ``fields`` (and the enclosing scope's)."""
    scope = {**(_fields.get() or {}), **fields}
    token = _fields.set(scope)
    try:
        yield scope
    finally:
        _fields.reset(token)


def add_fields(**fields: Any) -> None:
    """Add ``fields`` to the innermost ``log_fields`` scope (nothing outside one)."""
    scope = _fields.get()
    if scope is not None:
        scope.update(fields)


def current_fields() -> dict[str, Any]:
    return dict(_fields.get() or {})


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields of the record's scope (``log_fields``) and its own ``extra`` fields."""
    fields = {
        name: value for name, value in current_fields().items() if value is not None and value != ""
    }
    for name, value in vars(record).items():
        if name not in _RECORD_ATTRIBUTES and name not in _OWN_KEYS:
            fields[name] = value
    return fields


class JsonFormatter(logging.Formatter):
    """One line of JSON per record (a traceback is one string field, never extra lines)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= record_fields(record)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":"))


def json_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` (and uvicorn ``log_config``) sending openreel's,
    uvicorn's and every library's records through ``JsonFormatter`` to stdout."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    ours = {"handlers": ["json"], "level": level, "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": handler},
        "loggers": {
            "openreel": ours,
            "uvicorn": ours,
            "uvicorn.error": {"level": level},
            # Replaced by openreel.access (route template, duration, request and key ids).
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
        "root": {"handlers": ["json"], "level": "WARNING"},
    }


class PlainFormatter(logging.Formatter):
    """uvicorn's terminal line (``INFO:     message``) with the record's fields after it as
    ``name=value`` (``task_id=... engine=classic``), so that plain lines can be followed too."""

    def __init__(self) -> None:
        super().__init__()
        from uvicorn.logging import DefaultFormatter

        self._uvicorn = DefaultFormatter("%(levelprefix)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = self._uvicorn.format(record)
        fields = " ".join(f"{name}={value}" for name, value in record_fields(record).items())
        head, newline, rest = line.partition("\n")  # a traceback stays below the fields
        return f"{head} {fields}{newline}{rest}" if fields else line


# Capabilities that travel in URLs: the signature of a file link and the token of a relay
# callback. uvicorn's plain access line prints the whole path, so they are masked there.
_SECRET_IN_PATH = re.compile(r"(?P<keep>[?&]sig=|/relay/callbacks/[^/?]+/)[^&/?#\s]+")


def redact_path(path: str) -> str:
    """``path`` with link signatures and callback tokens replaced by ``***``."""
    return _SECRET_IN_PATH.sub(lambda match: f"{match['keep']}***", path)


class RedactedAccessPaths(logging.Filter):
    """Masks the secrets of ``redact_path`` in uvicorn's access records (args: client,
    method, path, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        return True


def plain_config(level: str = "INFO") -> dict[str, Any]:
    """``openreel serve``'s plain lines: uvicorn's own format, its access line with the
    secrets of URLs masked, and openreel's records (``INFO`` and up) beside uvicorn's."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": RedactedAccessPaths}}
    config["handlers"]["access"]["filters"] = ["redact"]
    config["formatters"]["openreel"] = {"()": PlainFormatter}
    config["handlers"]["openreel"] = {**config["handlers"]["default"], "formatter": "openreel"}
    config["loggers"]["openreel"] = {"handlers": ["openreel"], "level": level, "propagate": False}
    # uvicorn's access line already says it; openreel.access is for the JSON format.
    config["loggers"]["openreel.access"] = {"level": "WARNING"}
    return config


def configure_worker_logging(log_format: LogFormat) -> None:
    """``openreel worker``'s logging: JSON lines, or the plain lines it always printed."""
    if log_format == "json":
        logging.config.dictConfig(json_config())
    else:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
        )
