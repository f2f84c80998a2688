"""Print the plans, steps, costs and validation errors of a fixed corpus of documents, to
diff the planner before and after a change: a change meant to make planning faster must
leave this output byte for byte the same.

    .venv/bin/python tools/plan_corpus.py [SCENARIOS] > after.txt
    git stash; .venv/bin/python tools/plan_corpus.py [SCENARIOS] > before.txt; git stash pop
    cmp before.txt after.txt

The corpus: the persisted operations on our supergraph; every document written in the
planner's unit tests, on each federation case's supergraph; with SCENARIOS (a copy of
../shared/gateway-bench/scenarios), each scenario's document and 80 generated many-plans
documents (aliases, inline fragments, named fragments, @skip with the variable on and off)."""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path
from typing import Any

from gateway.federation.executor import Executor
from gateway.federation.pipeline import Gateway, RequestError
from gateway.federation.supergraph import Supergraph
from gateway.federation.transport import SubgraphTransport

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = ROOT / "gateway"
TEST_FILES = [
    "test_federation_cases.py",
    "test_plan_snapshots.py",
    "test_defer.py",
    "test_authorization_directives.py",
    "test_override_labels.py",
    "test_subscription_plans.py",
]
# a document in a test: a string literal opening with an operation or a selection
DOCUMENT = re.compile(
    r'(?s)(?:"""|\'\'\'|")(\s*(?:query|mutation|subscription|\{)[^"]*?)(?:"""|\'\'\'|")'
)

Entry = tuple[Path, str, dict[str, Any]]


def corpus(scenarios: Path | None) -> list[Entry]:
    entries: list[Entry] = []
    operations = json.loads((GATEWAY / "persisted-queries.json").read_text())["operations"]
    entries += [(GATEWAY / "supergraph.graphql", op["body"], {}) for op in operations]
    if scenarios is not None:
        for name in ("many-plans", "query", "big-response"):
            body = json.loads((scenarios / "data" / name / "body.json").read_text())
            entries.append((scenarios / "data" / name / "supergraph.graphql", body["query"], {}))
    texts: set[str] = set()
    for file_name in TEST_FILES:
        for match in DOCUMENT.finditer((GATEWAY / "tests" / "unit" / file_name).read_text()):
            text = match.group(1)
            if "{" in text and text.count("{") == text.count("}"):
                texts.add(text)
    cases = sorted((GATEWAY / "tests" / "federation_cases").glob("*/supergraph.graphql"))
    entries += [(case, text, {}) for case in cases for text in sorted(texts)]
    if scenarios is not None:
        entries += _generated(scenarios / "data" / "many-plans" / "supergraph.graphql")
    return entries


def _generated(supergraph: Path) -> list[Entry]:
    rng = random.Random(7)

    def selection(depth: int) -> str:
        parts = []
        for n in rng.sample(range(7), rng.randint(1, 4)):
            if depth == 0 or rng.random() < 0.3:
                parts.append(f"f{n}")
                continue
            alias = f"a{rng.randint(0, 99)}: " if rng.random() < 0.2 else ""
            inner = selection(depth - 1)
            if rng.random() < 0.15:
                inner = f"... on Node {{ {inner} }}"
            if rng.random() < 0.1:
                inner = f"...F{depth}"
            if rng.random() < 0.1:
                inner += " __typename"
            skip = " @skip(if: $s)" if rng.random() < 0.1 else ""
            parts.append(f"{alias}n{n}{skip} {{ {inner} }}")
        return " ".join(parts)

    entries: list[Entry] = []
    for _ in range(40):
        body = selection(rng.randint(1, 5))
        fragments = " ".join(
            f"fragment F{d} on Node {{ f0 n1 {{ f1 }} }}" for d in range(6) if f"...F{d}" in body
        )
        head = "query Q($s: Boolean = false)" if "$s" in body else "query Q"
        document = f"{head} {{ node {{ {body} }} }} {fragments}"
        entries += [(supergraph, document, values) for values in ({}, {"s": True})]
    return entries


def main() -> None:
    scenarios = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    gateways: dict[Path, Gateway] = {}
    for path, text, values in corpus(scenarios):
        if path not in gateways:
            supergraph = Supergraph.parse(path.read_text())
            executor = Executor(supergraph.subgraphs, {}, SubgraphTransport(timeout=1))
            gateways[path] = Gateway(supergraph, executor)
        gateway = gateways[path]
        print(f"=== {path.parent.name} {json.dumps(values)} {' '.join(text.split())[:200]}")
        try:
            prepared = gateway.prepare(text, None)
            compiled = gateway.plan(prepared, values)
            print("cost", prepared.cost.of(values), "nodes", prepared.nodes)
            print(compiled.plan.describe())
            print(compiled.staged.describe())
            if prepared.defers:
                compiled = gateway.plan(prepared, values, incremental=True)
                print(compiled.plan.describe())
                print(compiled.staged.describe())
        except RequestError as error:
            print("ERROR", json.dumps(error.errors, sort_keys=True))
        except Exception as error:  # a planner failure is output to compare too
            print("EXC", type(error).__name__, error)


if __name__ == "__main__":
    main()
