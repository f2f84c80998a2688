"""The one clock of the platform: UTC, millisecond precision (what MongoDB stores), so a
timestamp read back equals the one written and cursors round-trip exactly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "utcnow"]

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
