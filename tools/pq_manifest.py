"""`make pq-manifest`: the trusted documents of this repository's own clients, written to
gateway/persisted-queries.json in Apollo's persisted-query-manifest format.

The clients: the gateway's REST routes (gateway/rest/operations.py; they run in process and
never meet the HTTP check, but a manifest that lists them says what the deployment runs),
the GraphQL requests of the Postman collection (raw JSON bodies with a `query`, or GraphQL
bodies), and the GraphQL curl examples of README.md (`-d '{"query": ...}'` after a
`.../graphql` URL). Each operation's id is the sha256 of its body as the client sends it, so
the same id also works as an APQ hash. `--check` fails when the committed file is stale."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from graphql import OperationDefinitionNode, parse

from gateway.rest import operations

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "gateway" / "persisted-queries.json"
POSTMAN = ROOT / "MicroserviceExample.postman_collection.json"
README = ROOT / "README.md"

# a curl to /graphql whose -d is a single-quoted JSON object (the README's form)
_README_CURL = re.compile(r"curl [^\n]*/graphql[^\n]*(?:\\\n[^\n]*)*?-d '(\{[^']*\})'")


def operation(body: str) -> dict[str, str]:
    document = parse(body)
    first = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return {
        "id": hashlib.sha256(body.encode()).hexdigest(),
        "name": first.name.value if first.name else "",
        "type": first.operation.value,
        "body": body,
    }


def rest_bodies() -> list[str]:
    return list(operations.REST_OPERATIONS)


def postman_bodies(collection: dict[str, Any]) -> list[str]:
    bodies: list[str] = []
    pending = list(collection.get("item", []))
    while pending:
        item = pending.pop(0)
        pending.extend(item.get("item", []))
        body = (item.get("request") or {}).get("body") or {}
        if body.get("mode") == "graphql" and isinstance(body.get("graphql"), dict):
            query = body["graphql"].get("query")
        elif body.get("mode") == "raw":
            try:
                decoded = json.loads(body.get("raw") or "")
            except ValueError:
                continue
            query = decoded.get("query") if isinstance(decoded, dict) else None
        else:
            continue
        if isinstance(query, str):
            bodies.append(query)
    return bodies


def readme_bodies(text: str) -> list[str]:
    bodies = []
    for match in _README_CURL.finditer(text):
        query = json.loads(match.group(1)).get("query")
        if isinstance(query, str):
            bodies.append(query)
    return bodies


def manifest() -> dict[str, Any]:
    bodies = [
        *rest_bodies(),
        *postman_bodies(json.loads(POSTMAN.read_text())),
        *readme_bodies(README.read_text()),
    ]
    unique = list(dict.fromkeys(bodies))  # first seen first, each once
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [operation(body) for body in unique],
    }


def rendered() -> str:
    return json.dumps(manifest(), indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args()
    content = rendered()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != content:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run `make pq-manifest`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(content)
    count = len(json.loads(content)["operations"])
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {count} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
