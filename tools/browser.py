"""The Chromium that the browser tests drive (through Playwright), found or installed.

`make test` runs `python tools/browser.py ensure` before the suite; the tests call `find()`.
In order:
1. `BROWSER_EXECUTABLE`, when set: that program, or an error if it is not there;
2. a Chromium or Chrome already on the machine (`PATH`, then Playwright's browser cache);
3. one installed earlier by this script under `.tools/browser/`;
4. otherwise `ensure` installs one, without root: the npm package `@sparticuz/chromium`
   (a Chromium build carried inside the package, pinned in tools/browser/package-lock.json;
   x86_64 Linux), unpacked under `.tools/browser/`;
5. and only if that is impossible and we are root with apt: Debian's `chromium` package.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NPM_PACKAGE = ROOT / "tools" / "browser"
INSTALL_DIR = ROOT / ".tools" / "browser"
RECORD = INSTALL_DIR / "browser.json"

ON_PATH = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
PLAYWRIGHT_CACHE = Path.home() / ".cache" / "ms-playwright"
CACHED_BUILDS = ("chromium-*/chrome-linux*/chrome", "chromium_headless_shell-*/*/headless_shell")

# Flags every launch gets: nothing may reach out of the machine (its network is closed, and a
# test must not depend on it), and no first-run or background work slows a start.
BASE_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class BrowserNotFound(RuntimeError):
    pass


@dataclass(frozen=True)
class Browser:
    executable: str
    # Flags this build needs beyond BASE_ARGS (the npm build runs in one process, say).
    args: tuple[str, ...] = field(default=())

    @property
    def launch_args(self) -> list[str]:
        return [*BASE_ARGS, *(arg for arg in self.args if arg not in BASE_ARGS)]


def find(environ: dict[str, str] | None = None) -> Browser | None:
    environ = dict(os.environ) if environ is None else environ
    named = environ.get("BROWSER_EXECUTABLE")
    if named:
        path = shutil.which(named)
        if path is None:
            raise BrowserNotFound(f"BROWSER_EXECUTABLE={named} is not an executable")
        return Browser(path)
    for name in ON_PATH:
        path = shutil.which(name, path=environ.get("PATH"))
        if path:
            return Browser(path)
    for pattern in CACHED_BUILDS:
        for candidate in sorted(PLAYWRIGHT_CACHE.glob(pattern), reverse=True):
            if os.access(candidate, os.X_OK):
                return Browser(str(candidate))
    return _recorded()


def _recorded() -> Browser | None:
    try:
        record = json.loads(RECORD.read_text())
    except (OSError, ValueError):
        return None
    executable = record.get("executable", "")
    if not os.access(executable, os.X_OK):
        return None
    return Browser(executable, tuple(record.get("args", ())))


def ensure() -> Browser:
    found = find()
    if found:
        return found
    if _npm_build_runs_here():
        return _install_from_npm()
    if _can_apt():
        return _install_from_debian()
    raise BrowserNotFound(
        "No Chromium or Chrome found, and none can be installed here: the npm build is for "
        "x86_64 Linux and the Debian package needs root. Install Chromium or Chrome, or set "
        "BROWSER_EXECUTABLE=/path/to/chrome."
    )


def _npm_build_runs_here() -> bool:
    return (
        sys.platform == "linux"
        and platform.machine() in ("x86_64", "AMD64")
        and shutil.which("npm") is not None
    )


def _install_from_npm() -> Browser:
    print("tools/browser.py: no Chromium found; unpacking the npm package @sparticuz/chromium")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NPM_PACKAGE, check=True
    )
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    unpacked = subprocess.run(
        ["node", "unpack.mjs"],
        cwd=NPM_PACKAGE,
        env={**os.environ, "TMPDIR": str(INSTALL_DIR)},
        check=True,
        capture_output=True,
        text=True,
    )
    RECORD.write_text(unpacked.stdout)
    browser = _recorded()
    if browser is None:
        raise BrowserNotFound(f"the npm package unpacked nothing runnable: {unpacked.stdout}")
    return browser


def _can_apt() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def _install_from_debian() -> Browser:
    print("tools/browser.py: no Chromium found; installing Debian's chromium package")
    environ = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=environ, check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        env=environ,
        check=True,
    )
    found = find()
    if found is None:
        raise BrowserNotFound("apt-get installed chromium, but it is not on PATH")
    return found


def main(argv: list[str]) -> int:
    if argv[1:] != ["ensure"]:
        print("usage: tools/browser.py ensure", file=sys.stderr)
        return 2
    try:
        browser = ensure()
    except (BrowserNotFound, subprocess.CalledProcessError) as error:
        print(f"tools/browser.py: {error}", file=sys.stderr)
        return 1
    print(f"browser for the tests: {browser.executable}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
