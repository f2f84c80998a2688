"""What the repository holds: the browser pages' third-party files come from pinned npm
packages at install time (gateway/ui), never from files committed to git."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = re.compile(r"(\.min\.(js|css)|-bundle\.js|\.umd\.js)$")


def test_no_minified_third_party_bundle_is_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked, "not a git checkout"
    assert [path for path in tracked if BUNDLE.search(path)] == []


def test_the_web_ui_packages_are_pinned_exactly_and_locked() -> None:
    package = json.loads((ROOT / "gateway" / "ui" / "package.json").read_text())
    lock = json.loads((ROOT / "gateway" / "ui" / "package-lock.json").read_text())
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
