"""`make seed`: load the demo catalog (tools/demo_catalog.json) through the GraphQL API with
an admin token minted from the configured secret. Idempotent: products whose sku exists are
skipped (the API answers CONFLICT for them).

SEED_GRAPHQL_URL picks the target (default: the gateway at http://127.0.0.1:8000/graphql).

`make seed N=100000` makes a large generated catalog instead, through the inventory's own
layers (its settings, composition root and bulk import use case, a batch a write; into an
empty catalog the listing indexes are built after the load) on the database
INVENTORY_MONGODB_URI names, not through 100,000 API calls.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx

from inventory.bootstrap import bootstrap
from inventory.domain.product import NewProduct
from inventory.settings import InventorySettings
from platform_kit.auth import Principal, Role, issue_token
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


_WORDS = ["Cast iron", "Glass", "Enamel", "Copper", "Bamboo", "Stoneware", "Steel", "Oak"]
_THINGS = ["teapot", "kettle", "scale", "mug", "grinder", "jar", "tray", "whisk", "ladle"]


def generated(start: int, count: int) -> Iterator[NewProduct]:
    """Products with varied names, prices, stock and 50 categories, the same every run (made
    as the import reads them: the import builds one batch while the database stores the last)."""
    rng = random.Random(start)
    for n in range(start, start + count):
        yield NewProduct.create(
            name=f"{rng.choice(_WORDS)} {rng.choice(_THINGS)} {n}",
            price=Decimal(rng.randrange(100, 100_000)) / 100,
            stock=rng.choice([0, 1, 5, 20, 100]),
            category=f"cat{n % 50}",
        )


async def bulk_seed(count: int, settings: InventorySettings | None = None) -> int:
    services = bootstrap(settings or InventorySettings())
    admin = Principal(sub="seed", role=Role.ADMIN)
    try:
        await services.start()
        return await services.products.import_many(admin, generated(0, count))
    finally:
        await services.close()


def main() -> int:
    if count := int(os.environ.get("SEED_COUNT") or 0):
        started = time.perf_counter()
        added = asyncio.run(bulk_seed(count))
        print(f"generated catalog: {added} products in {time.perf_counter() - started:.1f} s")
        return 0
    url = os.environ.get("SEED_GRAPHQL_URL", "http://127.0.0.1:8000/graphql")
    wait_until_healthy(url)
    token = issue_token("seed", Role.ADMIN, ServiceSettings().jwt_secret(), ttl_seconds=300)
    created, skipped = seed(url, token)
    print(f"demo catalog: {created} products created, {skipped} already there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
