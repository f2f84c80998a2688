"""LOG_FORMAT: short lines for a person at a terminal, JSON lines for everything else."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator

import pydantic
import pytest

from platform_kit.logging import (
    QUIET_CLIENT_LOGGERS,
    ConsoleFormatter,
    JsonFormatter,
    configure_logging,
    formatter_for,
)
from platform_kit.request_context import current_request_id
from platform_kit.settings import LogFormat, ServiceSettings

ANSI = "\x1b["


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _logging_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("NO_COLOR", raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_CLIENT_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


@pytest.fixture
def request_id() -> Iterator[str]:
    token = current_request_id.set("4f2a9c1e0b7d4c2f8e1a6b3d5c7e9f01")
    yield "4f2a9c1e"
    current_request_id.reset(token)


def _access_record() -> logging.LogRecord:
    return logging.makeLogRecord(
        {
            "name": "access",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "request",
            "method": "POST",
            "path": "/graphql",
            "status": 200,
            "duration_ms": 3.14,
        }
    )


@pytest.mark.parametrize(
    ("log_format", "stream", "formatter"),
    [
        ("auto", FakeTerminal(), ConsoleFormatter),
        ("auto", io.StringIO(), JsonFormatter),
        ("json", FakeTerminal(), JsonFormatter),
        ("console", io.StringIO(), ConsoleFormatter),
    ],
)
def test_auto_means_console_on_a_terminal_and_json_anywhere_else(
    log_format: LogFormat, stream: io.StringIO, formatter: type[logging.Formatter]
) -> None:
    assert type(formatter_for("gateway", log_format, stream)) is formatter


def test_log_format_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert ServiceSettings().log_format == "auto"
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert ServiceSettings().log_format == "json"
    monkeypatch.setenv("LOG_FORMAT", "pretty")
    with pytest.raises(pydantic.ValidationError):
        ServiceSettings()


def test_a_log_line_off_a_terminal_is_still_one_json_object(request_id: str) -> None:
    stream = io.StringIO()
    configure_logging("inventory", "INFO", "auto", stream)
    logging.getLogger("access").info(
        "request", extra={"method": "GET", "path": "/x", "status": 404, "duration_ms": 1.5}
    )
    entry = json.loads(stream.getvalue())
    assert entry["service"] == "inventory" and entry["status"] == 404
    assert entry["request_id"].startswith(request_id)


def test_an_access_line_shows_time_service_level_request_and_request_id(
    request_id: str,
) -> None:
    line = ConsoleFormatter("gateway").format(_access_record())
    assert re.fullmatch(
        rf"\d\d:\d\d:\d\d\.\d{{3}} gateway   INFO  POST /graphql 200 3\.1ms  req={request_id}",
        line,
    ), line


def test_other_records_show_their_message_and_extras() -> None:
    record = logging.makeLogRecord(
        {
            "name": "orders.reconcile",
            "levelno": logging.WARNING,
            "levelname": "WARNING",
            "msg": "released %d reservations",
            "args": (2,),
            "order": "o-1",
            "reason": "lease expired",
            "color_message": "uvicorn's coloured copy",
        }
    )
    line = ConsoleFormatter("inventory").format(record)
    assert line.endswith(
        "inventory WARN  released 2 reservations  order=o-1 reason='lease expired'"
    ), line


def test_an_exception_follows_as_a_normal_traceback() -> None:
    try:
        _ = 1 / 0
    except ZeroDivisionError:
        record = logging.makeLogRecord(
            {"levelno": logging.ERROR, "levelname": "ERROR", "msg": "boom"}
        )
        record.exc_info = sys.exc_info()
    first, *rest = ConsoleFormatter("orders").format(record).splitlines()
    assert first.endswith("orders    ERROR boom")
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "ZeroDivisionError: division by zero"


def test_the_level_is_coloured_only_on_a_terminal() -> None:
    on_terminal = formatter_for("gateway", "console", FakeTerminal()).format(_access_record())
    piped = formatter_for("gateway", "console", io.StringIO()).format(_access_record())
    assert f"{ANSI}32mINFO " in on_terminal
    assert ANSI not in piped


def test_no_color_turns_colour_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    line = formatter_for("gateway", "auto", FakeTerminal()).format(_access_record())
    assert ANSI not in line and " INFO  POST /graphql" in line


def test_per_call_client_logs_are_kept_for_warnings() -> None:
    stream = io.StringIO()
    configure_logging("orders", "INFO", "json", stream)
    for name in QUIET_CLIENT_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING
    logging.getLogger("httpx").info('HTTP Request: PUT http://inventory "HTTP/1.1 200 OK"')
    logging.getLogger("httpx").warning("retrying")
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["retrying"]


def test_a_quieter_log_level_quiets_the_clients_too() -> None:
    configure_logging("orders", "ERROR", "json", io.StringIO())
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.ERROR
