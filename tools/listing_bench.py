"""`make bench-listings`: every listing through the gateway, one client, at a small and at a
large catalog (BENCH_CATALOG_SIZES, default 100 and 100,000 products and as many orders).

Method: starts its own stack (SecantusDB in memory, both subgraphs, the gateway), loads the
catalog through the inventory's bulk import use case (tools/seed.py) and the orders straight
into the order subgraph's database through its adapter (creating 100,000 orders through the
API would take an hour of reservations), then asks each listing BENCH_REPEAT times in turn,
one request at a time, after two warm-up requests. Prints p50 and p90 per listing and size,
and the ratio of the large catalog's p50 to the small one's; writes .data/listing-bench.json.
With BENCH_DB_COSTS=1, tools/db_costs.py runs on the large catalog too. Also: `offset=10000`
right after a product is repriced (each time: a write, then the page),
and the explain() of every query every listing sends (tools/explain_listings.py) at each size.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from db_costs import main as db_costs
from explain_listings import explain_all
from pymongo import AsyncMongoClient
from seed import bulk_seed

from inventory.settings import InventorySettings
from orders.adapters.indexes import INDEXES, LISTING_STATE, ORDERS, ensure_indexes
from orders.adapters.mongo_orders import order_document, recount_orders
from orders.domain.order import Order, OrderLine, OrderStatus, RequestedLine
from platform_devkit.processes import LocalMongo, free_port
from platform_devkit.stack import start_platform
from platform_kit.auth import Role, issue_token
from platform_kit.bulk_load import indexes_built_after
from platform_kit.count_cache import CountCache, ScopeCounts
from platform_kit.ordered_keys import draw_tier

ROOT = Path(__file__).resolve().parent.parent
SIZES = [int(n) for n in os.environ.get("BENCH_CATALOG_SIZES", "100,100000").split(",")]
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
CUSTOMERS = 100

PRODUCT_LISTINGS = [
    "/products",
    "/products?limit=100",
    *(f"/products?sort={s}" for s in ["name", "-name", "price", "-price", "created_at"]),
    "/products?category=cat3",
    "/products?category=cat3&sort=-price",
    "/products?min_price=10&max_price=20&sort=price",
    "/products?min_price=10&max_price=20",
    "/products?in_stock=false",
    *(f"/products?in_stock=false&sort={s}" for s in ["name", "-name", "price", "-price"]),
    "/products?in_stock=false&offset=1000",
    "/products?in_stock=true&sort=name",
    "/products?q=scale%201234",
    "/products?q=kettle",
    "/products?q=kettle&sort=price",
    "/products?offset=1000",
    "/products?offset=10000",
    "/products?sort=-price&offset=10000",
]
ORDER_LISTINGS = [
    "/orders",
    "/orders?status=pending",
    "/orders?user_id=customer-7",
    "/orders?offset=10000",
]


async def load_orders(uri: str, count: int) -> None:
    """Orders as the order subgraph stores them, a batch a write; into an empty collection,
    with its listing indexes built after the load (platform_kit.bulk_load)."""
    async with AsyncMongoClient[dict[str, Any]](uri) as client:
        db = client.get_default_database()
        await ensure_indexes(db)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        line = OrderLine("0" * 24, "Bench product", Decimal("9.99"), 1, "USD")
        async with indexes_built_after(db[ORDERS], INDEXES):
            for first in range(0, count, 1000):
                batch = []
                for n in range(first, min(count, first + 1000)):
                    at = start + timedelta(seconds=n)
                    order = Order(
                        id=f"{n:024x}",
                        user_id=f"customer-{n % CUSTOMERS}",
                        status=OrderStatus.COMPLETED if n % 4 else OrderStatus.PENDING,
                        requested=(RequestedLine("0" * 24, 1),),
                        fingerprint="bench",
                        created_at=at,
                        updated_at=at,
                        items=(line,),
                    )
                    batch.append(order_document(order, draw_tier()))
                await db[ORDERS].insert_many(batch, ordered=False)
        # written past the repository: its stored status counts are counted once, as at
        # start-up
        state = db[LISTING_STATE]
        await recount_orders(db[ORDERS], ScopeCounts(state, ORDERS), CountCache(state, ORDERS))


def _timings(took: list[float], last: httpx.Response) -> dict[str, Any]:
    """p50 and p90 of the times taken (ms), and the total the last answer gave."""
    body = last.json()
    return {
        "p50_ms": round(statistics.median(took), 1),
        "p90_ms": round(statistics.quantiles(took, n=10)[-1], 1),
        "total": body.get("total"),
        "precision": body.get("total_precision"),
    }


def measure(client: httpx.Client, path: str) -> dict[str, Any]:
    for _ in range(2):
        client.get(path).raise_for_status()
    took = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = client.get(path)
        took.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return _timings(took, response)


def after_writes(client: httpx.Client) -> dict[str, Any]:
    """The deep offset page read right after a product is repriced (its keys move in the
    price listings), each time."""
    product = client.get("/products", params={"limit": 1}).json()["items"][0]
    took = []
    for n in range(REPEAT):
        price = f"{10 + n % 7}.{n % 100:02d}"
        client.patch(f"/products/{product['id']}", json={"price": price}).raise_for_status()
        started = time.perf_counter()
        response = client.get("/products", params={"offset": 10000})
        took.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return _timings(took, response)


def run(size: int) -> dict[str, dict[str, Any]]:
    secret = secrets.token_urlsafe(48)
    # one client asking back to back measures the listings, not its budget (bench.py does
    # the same)
    env = {
        "AUTH_JWT_SECRET": secret,
        "LOG_LEVEL": "WARNING",
        "GATEWAY_BUDGET_RESTORE_RATE": "1e12",
    }
    logs = ROOT / ".data" / "listing-bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    database = LocalMongo(free_port(), ":memory:", log_path=logs / "db.log").start()
    processes: list[Any] = [database]
    try:
        platform = start_platform(
            env,
            inventory_uri=database.uri + "/inv",
            orders_uri=database.uri + "/ord",
            logs=logs,
            launch=lambda process: processes.append(process.start()),
        )
        gateway = platform.services[-1]
        started = time.perf_counter()
        asyncio.run(bulk_seed(size, InventorySettings(INVENTORY_MONGODB_URI=database.uri + "/inv")))
        asyncio.run(load_orders(database.uri + "/ord", size))
        print(f"{size} products and orders loaded in {time.perf_counter() - started:.0f} s")
        bad = asyncio.run(explain_all(database.uri + "/inv", database.uri + "/ord"))
        for line in bad:
            print("NOT AN INDEX RANGE IN INDEX ORDER:", line)
        if size == SIZES[-1] and os.environ.get("BENCH_DB_COSTS"):
            # what each kind of database operation costs at this size (README's table)
            asyncio.run(db_costs(database.uri + "/inv"))
        admin = issue_token("bench-admin", Role.ADMIN, secret)
        rows = {}
        with httpx.Client(
            base_url=gateway.base_url, headers={"Authorization": f"Bearer {admin}"}, timeout=30
        ) as client:
            for path in PRODUCT_LISTINGS + ORDER_LISTINGS:
                rows[path] = measure(client, path)
            # a cursor 50 pages deep, by price (or the last page's, in a smaller catalog)
            cursor = None
            for _ in range(50):
                page = client.get(
                    "/products", params={"sort": "price", **({"cursor": cursor} if cursor else {})}
                ).json()
                if page["next_cursor"] is None:
                    break
                cursor = page["next_cursor"]
            rows["/products?sort=price (page 51, by cursor)"] = measure(
                client, f"/products?sort=price&cursor={cursor}"
            )
            rows["/products?offset=10000 (right after a write)"] = after_writes(client)
        # a customer's own orders (1 in CUSTOMERS of them)
        customer = issue_token("customer-7", Role.CUSTOMER, secret)
        with httpx.Client(
            base_url=gateway.base_url, headers={"Authorization": f"Bearer {customer}"}, timeout=30
        ) as client:
            for path in ["/orders", "/orders?offset=900"]:
                rows[f"{path} (as customer-7)"] = measure(client, path)
        return rows
    finally:
        for process in reversed(processes):
            process.stop()


def main() -> int:
    results = {size: run(size) for size in SIZES}
    small, large = SIZES[0], SIZES[-1]
    print(f"\none client, {REPEAT} requests each; ms; ratio = p50 at {large} / p50 at {small}\n")
    print(
        f"{'listing':<52}"
        + "".join(f"{f'p50@{n}':>12}{f'p90@{n}':>12}" for n in SIZES)
        + f"{'ratio':>8}  total@{large}"
    )
    for path in results[small]:
        cells = "".join(
            f"{results[n][path]['p50_ms']:>12}{results[n][path]['p90_ms']:>12}" for n in SIZES
        )
        ratio = results[large][path]["p50_ms"] / max(results[small][path]["p50_ms"], 0.1)
        total = results[large][path]
        print(f"{path:<52}{cells}{ratio:>8.2f}  {total['total']} {total['precision']}")
    (ROOT / ".data" / "listing-bench.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
