"""tools/browser.py: which Chromium the browser tests drive (a named one, one on PATH, one in
Playwright's cache, one installed earlier from npm), with no real browser involved."""

from __future__ import annotations

import json
from pathlib import Path

import browser
import pytest


def _program(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    return program


@pytest.fixture
def nothing_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(browser, "PLAYWRIGHT_CACHE", tmp_path / "ms-playwright")
    monkeypatch.setattr(browser, "RECORD", tmp_path / "browser.json")
    empty = tmp_path / "bin"
    empty.mkdir()
    return empty


def test_nothing_found_when_the_machine_has_no_browser(nothing_installed: Path) -> None:
    assert browser.find({"PATH": str(nothing_installed)}) is None


def test_a_named_browser_wins(nothing_installed: Path, tmp_path: Path) -> None:
    _program(nothing_installed, "chromium")
    named = _program(tmp_path / "opt", "chrome")
    found = browser.find({"PATH": str(nothing_installed), "BROWSER_EXECUTABLE": str(named)})
    assert found == browser.Browser(str(named))


def test_a_named_browser_that_is_not_there_is_an_error(nothing_installed: Path) -> None:
    with pytest.raises(browser.BrowserNotFound, match="BROWSER_EXECUTABLE"):
        browser.find({"PATH": str(nothing_installed), "BROWSER_EXECUTABLE": "/nowhere/chrome"})


def test_a_browser_on_path_is_found(nothing_installed: Path) -> None:
    chrome = _program(nothing_installed, "google-chrome")
    assert browser.find({"PATH": str(nothing_installed)}) == browser.Browser(str(chrome))


def test_playwrights_cached_chromium_is_found(nothing_installed: Path) -> None:
    cache = browser.PLAYWRIGHT_CACHE
    _program(cache / "chromium-1100" / "chrome-linux", "chrome")
    newer = _program(cache / "chromium-1200" / "chrome-linux", "chrome")
    assert browser.find({"PATH": str(nothing_installed)}) == browser.Browser(str(newer))


def test_the_npm_build_installed_earlier_is_found_with_its_flags(
    nothing_installed: Path, tmp_path: Path
) -> None:
    unpacked = _program(tmp_path / "tools-browser", "chromium")
    browser.RECORD.write_text(
        json.dumps({"executable": str(unpacked), "args": ["--no-zygote", "--no-sandbox"]})
    )
    found = browser.find({"PATH": str(nothing_installed)})
    assert found == browser.Browser(str(unpacked), ("--no-zygote", "--no-sandbox"))
    # the shared flags first, each once
    assert found.launch_args == [*browser.BASE_ARGS, "--no-zygote"]


def test_a_record_whose_program_is_gone_is_ignored(nothing_installed: Path) -> None:
    browser.RECORD.write_text(json.dumps({"executable": "/nowhere/chromium", "args": []}))
    assert browser.find({"PATH": str(nothing_installed)}) is None
