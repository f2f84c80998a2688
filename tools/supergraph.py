"""`make supergraph` writes gateway/supergraph.graphql from the subgraphs' SDL;
`make supergraph-check` (part of `make test`) fails when the committed file is stale."""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from pathlib import Path

from composer import SubgraphSource, compose

ROOT = Path(__file__).resolve().parent.parent
SUPERGRAPH_PATH = ROOT / "gateway" / "supergraph.graphql"

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


def main(command: str) -> int:
    fresh = compose(subgraph_sources())
    if command == "write":
        # written beside and renamed over: a gateway polling the file (make run) reads the
        # old one or the new one, never half of it
        staged = SUPERGRAPH_PATH.with_name(f".{SUPERGRAPH_PATH.name}.{os.getpid()}")
        staged.write_text(fresh)
        os.replace(staged, SUPERGRAPH_PATH)
        print(f"wrote {SUPERGRAPH_PATH.relative_to(ROOT)}")
        return 0
    committed = SUPERGRAPH_PATH.read_text() if SUPERGRAPH_PATH.exists() else ""
    if committed == fresh:
        print("supergraph is up to date")
        return 0
    sys.stderr.writelines(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            fresh.splitlines(keepends=True),
            "committed",
            "composed",
        )
    )
    print("gateway/supergraph.graphql is stale: run `make supergraph`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "check"))
