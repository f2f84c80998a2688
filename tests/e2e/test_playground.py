"""GraphiQL at GET /graphql in a real headless Chromium that cannot reach the internet: the
page loads from the gateway alone, a query runs, and its result shows."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import httpx

from .conftest import Platform

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Every host but the loopback fails to resolve: a CDN reference would break the page.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--virtual-time-budget=20000",
]


def _rendered(url: str, profile: Path) -> str:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is installed by tools/ci-system-deps.sh"
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def _result_text(dom: str) -> str:
    start = dom.index('class="result-window"')
    fragment = dom[start : start + 20000]
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("\u00a0", " ")


def test_the_playground_runs_a_query_offline(platform: Platform, tmp_path: Path) -> None:
    page = httpx.get(platform.gateway.base_url + "/graphql")
    assert page.status_code == 200 and "graphiql.min.js" in page.text
    assert not re.search(r'(src|href)="https?://', page.text)

    dom = _rendered(platform.gateway.base_url + "/graphql?run=1", tmp_path / "profile")
    text = _result_text(dom)
    assert '"data"' in text
    assert '"products"' in text
    assert '"total"' in text


def test_the_playground_assets_are_served_by_the_gateway(platform: Platform) -> None:
    for asset in (
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "playground.js",
    ):
        response = httpx.get(f"{platform.gateway.base_url}/graphql/assets/{asset}")
        assert response.status_code == 200, asset
