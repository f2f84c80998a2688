"""Settings, request ids, JSON log lines and the tracing switch."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from platform_kit import tracing
from platform_kit.logging import JsonFormatter
from platform_kit.request_context import current_request_id, sanitize_request_id
from platform_kit.settings import MissingJwtSecret, ServiceSettings, WeakJwtSecret


def test_the_environment_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("f" * 40)
    monkeypatch.setenv("AUTH_JWT_SECRET_FILE", str(secret_file))
    monkeypatch.delenv("AUTH_JWT_SECRET", raising=False)
    assert ServiceSettings().jwt_secret() == "f" * 40
    monkeypatch.setenv("AUTH_JWT_SECRET", "e" * 40)
    assert ServiceSettings().jwt_secret() == "e" * 40


@pytest.mark.parametrize("secret", ["changeme", "short", "secret"])
def test_placeholder_and_short_secrets_are_refused(
    secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_JWT_SECRET", secret)
    with pytest.raises(ValueError, match="at least 32"):
        ServiceSettings()
    _ = WeakJwtSecret


def test_a_missing_secret_says_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTH_JWT_SECRET", raising=False)
    monkeypatch.setenv("AUTH_JWT_SECRET_FILE", str(tmp_path / "absent"))
    with pytest.raises(MissingJwtSecret):
        ServiceSettings().jwt_secret()


@pytest.mark.parametrize(
    ("given", "kept"),
    [("abc-123", True), ("x" * 129, False), ("a b", False), ("a\nb", False), (None, False)],
)
def test_client_request_ids_are_kept_only_when_safe(given: str | None, kept: bool) -> None:
    assert (sanitize_request_id(given) == given) is kept


def test_a_log_line_is_one_json_object_with_the_request_id() -> None:
    token = current_request_id.set("req-7")
    try:
        record = logging.LogRecord("access", logging.INFO, __file__, 1, "request", (), None)
        record.status = 200
        line = JsonFormatter("inventory").format(record)
    finally:
        current_request_id.reset(token)
    entry = json.loads(line)
    assert "\n" not in line
    assert (entry["request_id"], entry["service"], entry["status"]) == ("req-7", "inventory", 200)


def test_a_log_line_holds_any_value_an_extra_carries() -> None:
    # beyond what the fast encoder takes (an int of more than 64 bits), and any object
    record = logging.LogRecord("access", logging.INFO, __file__, 1, "request", (), None)
    record.huge = 2**70
    record.thing = Path("/x")
    entry = json.loads(JsonFormatter("gateway").format(record))
    assert (entry["huge"], entry["thing"], entry["message"]) == (2**70, "/x", "request")


@pytest.mark.parametrize(
    ("env", "exporter"),
    [
        ({}, None),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp"),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
                "OTEL_TRACES_EXPORTER": "none",
            },
            None,
        ),
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
    ],
)
def test_spans_are_exported_only_when_asked(
    env: dict[str, str], exporter: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert tracing._exporter_wanted() == exporter
