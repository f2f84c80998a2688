"""Compose a supergraph with the reference composer (npm @apollo/composition, tools/compose).

Used by `make supergraph` and by the gateway's tests to build fixture supergraphs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

COMPOSE_DIR = Path(__file__).resolve().parent / "compose"


class CompositionError(RuntimeError):
    pass


@dataclass(frozen=True)
class SubgraphSource:
    name: str
    url: str
    sdl: str


def ensure_node_deps() -> None:
    if (COMPOSE_DIR / "node_modules" / "@apollo" / "composition").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise CompositionError("npm is needed to compose supergraphs")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=COMPOSE_DIR, check=True
    )


def compose(subgraphs: list[SubgraphSource]) -> str:
    ensure_node_deps()
    node = shutil.which("node")
    if node is None:
        raise CompositionError("node is needed to compose supergraphs")
    payload = {"subgraphs": [{"name": s.name, "url": s.url, "sdl": s.sdl} for s in subgraphs]}
    result = subprocess.run(
        [node, str(COMPOSE_DIR / "compose.mjs")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise CompositionError(result.stderr.strip() or "composition failed")
    return result.stdout
