"""`make seed`: load the demo catalog (tools/demo_catalog.json) through the GraphQL API with
an admin token minted from the configured secret. Idempotent: products whose sku exists are
skipped (the API answers CONFLICT for them).

SEED_GRAPHQL_URL picks the target (default: the gateway at http://127.0.0.1:8000/graphql).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import httpx

from platform_kit.auth import Role, issue_token
from platform_kit.settings import ServiceSettings

CATALOG = Path(__file__).resolve().parent / "demo_catalog.json"
CREATE = """mutation Seed($input: CreateProductInput!) { createProduct(input: $input) { id } }"""


def wait_until_healthy(graphql_url: str, timeout: float = 60) -> None:
    health = httpx.URL(graphql_url).copy_with(path="/healthz")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(health, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{health} did not answer")


def seed(graphql_url: str, token: str) -> tuple[int, int]:
    created = skipped = 0
    products = json.loads(CATALOG.read_text())
    with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {token}"}) as client:
        for product in products:
            body = client.post(
                graphql_url, json={"query": CREATE, "variables": {"input": product}}
            ).json()
            errors = body.get("errors") or []
            if not errors:
                created += 1
            elif errors[0].get("extensions", {}).get("code") == "CONFLICT":
                skipped += 1
            else:
                raise SystemExit(f"could not seed {product['sku']}: {errors[0]['message']}")
    return created, skipped


def main() -> int:
    url = os.environ.get("SEED_GRAPHQL_URL", "http://127.0.0.1:8000/graphql")
    wait_until_healthy(url)
    token = issue_token("seed", Role.ADMIN, ServiceSettings().jwt_secret(), ttl_seconds=300)
    created, skipped = seed(url, token)
    print(f"demo catalog: {created} products created, {skipped} already there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
