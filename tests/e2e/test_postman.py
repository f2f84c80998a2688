"""The Postman collection, run by newman against a freshly started platform: every request's
tests must pass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .conftest import Platform

ROOT = Path(__file__).resolve().parents[2]
NEWMAN_DIR = ROOT / "tools" / "newman"


def _newman() -> Path:
    binary = NEWMAN_DIR / "node_modules" / ".bin" / "newman"
    if not binary.exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to run the Postman collection"
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NEWMAN_DIR,
            check=True,
            timeout=600,
        )
    return binary


def test_the_postman_collection_passes(platform: Platform, jwt_secret: str, tmp_path: Path) -> None:
    report = tmp_path / "newman.json"
    result = subprocess.run(
        [
            str(_newman()),
            "run",
            str(ROOT / "MicroserviceExample.postman_collection.json"),
            "--environment",
            str(ROOT / "MicroserviceExample.postman_environment.json"),
            "--env-var",
            f"base_url={platform.gateway.base_url}",
            "--env-var",
            f"jwt_secret={jwt_secret}",
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(report),
            "--bail",
            "--color",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert report.exists()
    assert "assertions" in result.stdout
