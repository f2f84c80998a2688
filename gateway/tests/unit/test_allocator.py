"""glibc's thresholds are set where glibc is the allocator, and nothing is tried elsewhere."""

from __future__ import annotations

import sys

import pytest

from gateway.entrypoints import allocator


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux's")
def test_the_thresholds_are_set_on_linux() -> None:
    assert allocator.keep_large_buffers() is True


def test_nothing_is_tried_off_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.keep_large_buffers() is False


def test_an_allocator_without_mallopt_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator.sys, "platform", "linux")

    def no_library(name: str) -> None:
        raise OSError(f"{name}: no such library")

    monkeypatch.setattr(allocator.ctypes, "CDLL", no_library)
    assert allocator.keep_large_buffers() is False
