"""`make bench`: requests/s and p50/p99 latency, through the gateway and directly at the
subgraphs, for a one-subgraph query and the cross-subgraph order query, in one run.

Method: starts its own stack on free loopback ports (SecantusDB in memory, both subgraphs and
the gateway, one uvicorn worker each), seeds 50 products and 10 orders of 3 lines for one
customer, warms each scenario up, then drives it from this process (separate from the
servers) with a fixed number of concurrent keep-alive connections for a fixed number of
requests, bounded in time. Every answer is checked for errors. Results are printed and
written to .data/bench.json. On a 2-core machine the load generator shares the CPU with the
servers, so absolute numbers are a floor; compare rows, not machines.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from platform_kit.auth import Role, issue_token
from platform_kit.processes import LocalMongo, ServiceProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1500"))
MAX_SECONDS = float(os.environ.get("BENCH_MAX_SECONDS", "60"))

PRODUCTS_QUERY = "{ products(limit: 20) { items { id name price stock } total } }"
CROSS_QUERY = "{ orders { items { items { product { name price } } } } }"
ORDERS_ONLY = "{ orders { items { items { productId name unitPrice } } } }"


async def _drive(url: str, query: str, token: str | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    errors = 0
    remaining = REQUESTS
    deadline = time.monotonic() + MAX_SECONDS
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as client:
        for _ in range(50):  # warm-up: connections, caches, plans
            await client.post(url, json={"query": query})

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0 and time.monotonic() < deadline:
                remaining -= 1
                started = time.perf_counter()
                response = await client.post(url, json={"query": query})
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or "errors" in response.json():
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


def _post(url: str, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.post(
        url,
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    if body.get("errors"):
        raise SystemExit(f"seeding failed: {body['errors']}")
    return body


def main() -> int:
    secret = secrets.token_urlsafe(48)
    env = {"AUTH_JWT_SECRET": secret, "LOG_LEVEL": "WARNING"}
    logs = ROOT / ".data" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    database = LocalMongo(free_port(), ":memory:", log_path=logs / "db.log").start()
    processes: list[Any] = [database]
    try:
        inventory = ServiceProcess(
            "inventory",
            "inventory.entrypoints.app:create_app",
            free_port(),
            log_path=logs / "inventory.log",
            env={**env, "INVENTORY_MONGODB_URI": database.uri + "/inv"},
        )
        processes.append(inventory.start())
        orders = ServiceProcess(
            "orders",
            "orders.entrypoints.app:create_app",
            free_port(),
            log_path=logs / "orders.log",
            env={
                **env,
                "ORDERS_MONGODB_URI": database.uri + "/ord",
                "INVENTORY_URL": inventory.base_url,
            },
        )
        processes.append(orders.start())
        gateway = ServiceProcess(
            "gateway",
            "gateway.entrypoints.app:create_app",
            free_port(),
            log_path=logs / "gateway.log",
            env={
                **env,
                "SUBGRAPH_URL_INVENTORY": inventory.base_url + "/graphql",
                "SUBGRAPH_URL_ORDERS": orders.base_url + "/graphql",
            },
        )
        processes.append(gateway.start())

        admin = issue_token("bench-admin", Role.ADMIN, secret)
        customer = issue_token("bench-customer", Role.CUSTOMER, secret)
        product_ids = [
            _post(
                inventory.base_url + "/graphql",
                "mutation($i: CreateProductInput!) { createProduct(input: $i) { id } }",
                {"i": {"name": f"Bench product {n}", "price": f"{n + 1}.99", "stock": 100000}},
                admin,
            )["data"]["createProduct"]["id"]
            for n in range(50)
        ]
        for n in range(10):
            lines = [{"productId": product_ids[(n * 3 + k) % 50], "quantity": 1} for k in range(3)]
            _post(
                orders.base_url + "/graphql",
                "mutation($l: [OrderLineInput!]!) { createOrder(input: {items: $l}) { id } }",
                {"l": lines},
                customer,
            )

        scenarios = [
            ("products page", "gateway", gateway, PRODUCTS_QUERY),
            ("products page", "inventory subgraph", inventory, PRODUCTS_QUERY),
            ("orders with products", "gateway", gateway, CROSS_QUERY),
            ("orders (own fields)", "order subgraph", orders, ORDERS_ONLY),
        ]
        results = []
        for name, target, process, query in scenarios:
            result = asyncio.run(_drive(process.base_url + "/graphql", query, customer))
            results.append({"scenario": name, "target": target, **result})
    finally:
        for process in reversed(processes):
            process.stop()

    print(
        f"\nconcurrency {CONCURRENCY}, {REQUESTS} requests per row, "
        f"{os.cpu_count()} CPUs shared by load generator and servers\n"
    )
    print(f"{'scenario':<24}{'target':<22}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for row in results:
        print(
            f"{row['scenario']:<24}{row['target']:<22}{row['rps']:>9}{row['p50_ms']:>9}"
            f"{row['p99_ms']:>9}{row['errors']:>8}"
        )
    (ROOT / ".data" / "bench.json").write_text(json.dumps(results, indent=2))
    return 0 if all(row["errors"] == 0 for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())
