"""Log lines with the request id of the request being served: one JSON object a line for
machines, or one short line for a person at a terminal (`LOG_FORMAT`)."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from platform_kit.request_context import current_request_id
from platform_kit.tracing import current_trace_id

if TYPE_CHECKING:
    from platform_kit.settings import LogFormat

__all__ = [
    "QUIET_CLIENT_LOGGERS",
    "ConsoleFormatter",
    "JsonFormatter",
    "configure_logging",
    "formatter_for",
]

# HTTP and database clients that log every call (httpx: one INFO line per request); our
# access log already has one line per request, so they speak only of trouble.
QUIET_CLIENT_LOGGERS = ("httpx", "httpcore", "aiohttp.client", "pymongo")

_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "color_message"}  # uvicorn's terminal-coloured duplicate
)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _STANDARD_ATTRS and not key.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": current_request_id.get(),
            "trace_id": current_trace_id(),
        }
        entry.update(_extras(record))
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        try:  # orjson: a fifth of the access log's cost per request (the gateway's hot path)
            return orjson.dumps(entry, default=str).decode()
        except (orjson.JSONEncodeError, TypeError):  # an int beyond 64 bits, a non-str key
            return json.dumps(entry, default=str)


_SHORT_LEVELS = {"WARNING": "WARN", "CRITICAL": "CRIT"}
_LEVEL_COLOURS = {
    "DEBUG": "\x1b[2m",
    "INFO": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
}
_RESET = "\x1b[0m"
_ACCESS_FIELDS = ("method", "path", "status", "duration_ms")
_SHOWN_REQUEST_ID = 8


class ConsoleFormatter(logging.Formatter):
    """`16:31:02.114 gateway   INFO  POST /graphql 200 3.1ms  req=4f2a9c1e`: local time,
    service, level, then the request (access records) or the message, then the record's
    extras as key=value. An exception follows as a normal traceback."""

    FORMAT = "{asctime}.{msecs:03.0f} {service:<9} {level} {text}"

    def __init__(self, service: str, *, colour: bool = False) -> None:
        super().__init__(self.FORMAT, datefmt="%H:%M:%S", style="{")
        self.service = service
        self.colour = colour

    def formatMessage(self, record: logging.LogRecord) -> str:
        fields = {
            "service": self.service,
            "level": self._level(record.levelname),
            "text": self._text(record),
        }
        return super().formatMessage(logging.makeLogRecord({**record.__dict__, **fields}))

    def _level(self, levelname: str) -> str:
        shown = f"{_SHORT_LEVELS.get(levelname, levelname):<5}"
        colour = _LEVEL_COLOURS.get(levelname) if self.colour else None
        return f"{colour}{shown}{_RESET}" if colour else shown

    def _text(self, record: logging.LogRecord) -> str:
        extras = _extras(record)
        if all(field in extras for field in _ACCESS_FIELDS):
            text = (
                f"{extras.pop('method')} {extras.pop('path')} {extras.pop('status')} "
                f"{float(extras.pop('duration_ms')):.1f}ms"
            )
        else:
            text = record.getMessage()
        request_id = current_request_id.get()
        if request_id:
            # the first characters, as a short git hash: enough to follow one request
            extras = {"req": request_id[:_SHOWN_REQUEST_ID], **extras}
        tail = " ".join(f"{key}={_plain(value)}" for key, value in extras.items())
        return f"{text}  {tail}" if tail else text


def _plain(value: object) -> str:
    text = str(value)
    return repr(text) if not text or any(c.isspace() for c in text) else text


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def formatter_for(service: str, log_format: LogFormat, stream: TextIO) -> logging.Formatter:
    """JSON unless asked for the console, or `auto` on a terminal. Colour only on a terminal
    and without `NO_COLOR` (no-color.org)."""
    terminal = _is_terminal(stream)
    if log_format == "json" or (log_format == "auto" and not terminal):
        return JsonFormatter(service)
    return ConsoleFormatter(service, colour=terminal and not os.environ.get("NO_COLOR"))


def configure_logging(
    service: str,
    level: str = "INFO",
    log_format: LogFormat = "auto",
    stream: TextIO | None = None,
) -> None:
    stream = stream or sys.stdout
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_for(service, log_format, stream))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # uvicorn's own access log is replaced by ours (which carries the request id).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
