"""`make supergraph` writes gateway/supergraph.graphql from the subgraphs' SDL, and the
supergraph of each federation case the gateway is tested on (gateway/tests/federation_cases/
<case>/supergraph.graphql, from that folder's other .graphql files); `make supergraph-check`
(part of `make test`) fails when a committed file is stale."""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from pathlib import Path

from composer import SubgraphSource, compose

ROOT = Path(__file__).resolve().parent.parent
SUPERGRAPH_PATH = ROOT / "gateway" / "supergraph.graphql"
CASES = ROOT / "gateway" / "tests" / "federation_cases"

# name in the supergraph, default URL, module holding the subgraph's Strawberry `schema`
SUBGRAPHS = [
    ("inventory", "http://localhost:8001/graphql", "inventory.entrypoints.graphql.schema"),
    ("orders", "http://localhost:8002/graphql", "orders.entrypoints.graphql.schema"),
]


def subgraph_sources() -> list[SubgraphSource]:
    sources = []
    for name, url, module_name in SUBGRAPHS:
        module = importlib.import_module(module_name)
        sources.append(SubgraphSource(name=name, url=url, sdl=module.schema.as_str()))
    return sources


def case_url(case: str, subgraph: str) -> str:
    """The URL a case's subgraph has in its supergraph: never dialled, the tests call the
    subgraphs in-process and find them by it (gateway/tests/federation_cases/harness.py)."""
    return f"http://{subgraph}.{case}.test/graphql"


def case_sources(case: Path) -> list[SubgraphSource]:
    """A federation case's subgraphs: every .graphql file of its folder but the supergraph."""
    return [
        SubgraphSource(name=sdl.stem, url=case_url(case.name, sdl.stem), sdl=sdl.read_text())
        for sdl in sorted(case.glob("*.graphql"))
        if sdl.name != "supergraph.graphql"
    ]


def targets() -> list[tuple[Path, list[SubgraphSource] | None]]:
    """(supergraph file, its subgraphs); None: the product's own, from the live schemas."""
    cases = sorted(p for p in CASES.iterdir() if p.is_dir() and any(p.glob("*.graphql")))
    return [(SUPERGRAPH_PATH, None), *((c / "supergraph.graphql", case_sources(c)) for c in cases)]


def main(command: str) -> int:
    stale = 0
    for path, sources in targets():
        fresh = compose(subgraph_sources() if sources is None else sources)
        name = path.relative_to(ROOT)
        if command == "write":
            if not path.exists() or path.read_text() != fresh:
                # written beside and renamed over: a gateway polling the file (make run)
                # reads the old one or the new one, never half of it
                staged = path.with_name(f".{path.name}.{os.getpid()}")
                staged.write_text(fresh)
                os.replace(staged, path)
                print(f"wrote {name}")
            continue
        committed = path.read_text() if path.exists() else ""
        if committed == fresh:
            continue
        stale += 1
        sys.stderr.writelines(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                fresh.splitlines(keepends=True),
                f"{name} (committed)",
                f"{name} (composed)",
            )
        )
    if stale:
        print(f"{stale} supergraph file(s) stale: run `make supergraph`", file=sys.stderr)
        return 1
    if command != "write":
        print("supergraphs are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "check"))
