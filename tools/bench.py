"""`make bench`: requests/s and latency of our own stack, through the gateway and directly at
the subgraphs, GraphQL and REST, in one run.

Method: starts its own stack on free loopback ports (SecantusDB in memory, both subgraphs and
the gateway, one uvicorn worker each), seeds 50 products and 10 orders of 3 lines for one
customer, checks each scenario's answer, then drives it with autocannon (npm, pinned in
tools/loadgen) for BENCH_SECONDS at BENCH_CONNECTIONS keep-alive connections and again at
one connection (the gateway's latency overhead). The load generator is pinned to core 0 and
every server to the other cores, so the load generator never takes the servers' CPU.
Then the flash sales (tools/flash_sale.py): distinct customers all at once for a few hot
products through the gateway's `POST /orders`, the load generator on core 0 again; each
sale checked to sell exactly its units and refuse the rest with 409.
Then @defer (tools/bench_defer.py): the orders page with the products deferred, the time to
its first payload against the whole answer, one request at a time.
Results are printed and written to .data/bench.json. Compare rows of one run, not runs.
The gateways run every request through the budget check with a budget that never runs
out (one client sends all the load); what the check costs a request is measured in process
(tools/bench_budget.py) and printed last.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from bench_budget import measure as measure_budget_check
from bench_defer import measure as measure_defer
from flash_sale import FlashSale, flash_sale

from gateway.rest.operations import LIST_PRODUCTS
from platform_devkit.processes import LocalMongo, ServiceProcess, free_port
from platform_devkit.stack import start_platform, subgraph_urls
from platform_kit.auth import Role, issue_token

ROOT = Path(__file__).resolve().parent.parent
AUTOCANNON = ROOT / "tools" / "loadgen" / "node_modules" / ".bin" / "autocannon"
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CPUS = sorted(os.sched_getaffinity(0))
LOAD_CPUS = CPUS[:1]
SERVER_CPUS = CPUS[1:] or CPUS  # one core: nothing to keep apart

# The products page as the REST route asks for it, so GraphQL and REST rows do equal work.
PRODUCTS_PAGE = {
    "query": LIST_PRODUCTS,
    "variables": {"filter": {}, "sort": "CREATED_AT_DESC", "limit": 20},
}
# the same page by its APQ hash alone (registered once before the load): what a client saves
# sending 64 hex digits instead of the document, and what the lookup costs the gateway
APQ_PRODUCTS_PAGE = {
    "variables": PRODUCTS_PAGE["variables"],
    "extensions": {
        "persistedQuery": {
            "version": 1,
            "sha256Hash": hashlib.sha256(LIST_PRODUCTS.encode()).hexdigest(),
        }
    },
}
CROSS_QUERY = {"query": "{ orders { items { items { product { name price } } } } }"}
ORDERS_ONLY = {"query": "{ orders { items { items { productId name unitPrice } } } }"}
# the issue's flash sale (100 customers, 5 units), then many customers for a few products
FLASH_SALES = [FlashSale(buyers=100, hot=1, units=5), FlashSale(buyers=100, hot=5, units=10)]


def _load(
    url: str, method: str, body: bytes | None, token: str, connections: int
) -> dict[str, Any]:
    """One autocannon run, pinned to the load generator's core."""
    command = [
        "taskset",
        "-c",
        ",".join(map(str, LOAD_CPUS)),
        str(AUTOCANNON),
        "-c",
        str(connections),
        "-d",
        str(SECONDS),
        "-m",
        method,
        "-H",
        f"authorization=Bearer {token}",
        "-j",
    ]
    if body is not None:
        command += ["-H", "content-type=application/json", "-b", body.decode()]
    result = subprocess.run([*command, url], capture_output=True, check=True, timeout=SECONDS + 60)
    report = json.loads(result.stdout)
    return {
        "connections": connections,
        "rps": round(report["requests"]["average"], 1),
        "p50_ms": report["latency"]["p50"],
        "p99_ms": report["latency"]["p99"],
        "mean_ms": report["latency"]["average"],
        "failed": report["non2xx"] + report["errors"] + report["timeouts"],
    }


def _scenario(
    base_url: str, path: str, request: dict[str, Any] | None, token: str
) -> dict[str, Any]:
    """Checks the answer once (no GraphQL errors), then loads it twice."""
    url = base_url + path
    body = json.dumps(request).encode() if request else None
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        answer = httpx.post(
            url, content=body, headers=headers | {"content-type": "application/json"}
        )
    else:
        answer = httpx.get(url, headers=headers)
    if answer.status_code != 200 or "errors" in answer.json():
        raise SystemExit(f"{url} answered {answer.status_code}: {answer.text[:300]}")
    method = "POST" if body is not None else "GET"
    _load(url, method, body, token, CONNECTIONS)  # warm-up: connections, caches, plans
    return {
        "loaded": _load(url, method, body, token, CONNECTIONS),
        "single": _load(url, method, body, token, 1),
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
    # the load is one client's: its budget is checked on every request, and never runs out
    env = {
        "AUTH_JWT_SECRET": secret,
        "LOG_LEVEL": "WARNING",
        "GATEWAY_BUDGET_RESTORE_RATE": "1e12",
    }
    logs = ROOT / ".data" / "bench-logs"
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
        inventory, orders, gateway = platform.services
        # the same gateway sending every subgraph request, even identical ones in flight:
        # what the gateway costs when the load is not one repeated query
        undeduplicated = ServiceProcess(
            "gateway-nodedup",
            "gateway.entrypoints.app:create_app",
            free_port(),
            log_path=logs / "gateway-nodedup.log",
            env={
                **env,
                **subgraph_urls(inventory, orders),
                "GATEWAY_DEDUPLICATE_SUBGRAPH_REQUESTS": "false",
            },
        )
        processes.append(undeduplicated.start())

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

        for process in processes:
            os.sched_setaffinity(process.process.pid, SERVER_CPUS)
        scenarios = [
            ("products page", "GraphQL at the gateway", gateway, "/graphql", PRODUCTS_PAGE),
            ("products page", "GraphQL at inventory", inventory, "/graphql", PRODUCTS_PAGE),
            ("products page", "gateway, no dedup", undeduplicated, "/graphql", PRODUCTS_PAGE),
            ("products page", "REST at the gateway", gateway, "/products?limit=20", None),
            ("orders with products", "GraphQL at the gateway", gateway, "/graphql", CROSS_QUERY),
            ("orders (own fields)", "GraphQL at orders", orders, "/graphql", ORDERS_ONLY),
            ("products page", "gateway, APQ hash only", gateway, "/graphql", APQ_PRODUCTS_PAGE),
        ]
        registered = {**PRODUCTS_PAGE, "extensions": APQ_PRODUCTS_PAGE["extensions"]}
        httpx.post(gateway.base_url + "/graphql", json=registered, timeout=30).raise_for_status()
        results = []
        for name, target, process, path, request in scenarios:
            measured = _scenario(process.base_url, path, request, customer)
            results.append({"scenario": name, "target": target, **measured})
        deferred = measure_defer(gateway.base_url, customer)
        own_cpus = os.sched_getaffinity(0)
        os.sched_setaffinity(0, LOAD_CPUS)  # this process is the sales' load generator
        try:
            sales = [flash_sale(gateway.base_url, secret, sale) for sale in FLASH_SALES]
        finally:
            os.sched_setaffinity(0, own_cpus)
    finally:
        for process in reversed(processes):
            process.stop()

    print(f"\nautocannon {SECONDS}s a row on CPU {LOAD_CPUS}, servers on CPUs {SERVER_CPUS}\n")
    print(
        f"{'scenario':<22}{'target':<24}{'req/s':>8}{'p50':>6}{'p99':>6}{'failed':>8}"
        f"{'1-conn req/s':>14}{'mean ms':>9}"
    )
    for row in results:
        loaded, single = row["loaded"], row["single"]
        print(
            f"{row['scenario']:<22}{row['target']:<24}{loaded['rps']:>8}{loaded['p50_ms']:>6}"
            f"{loaded['p99_ms']:>6}{loaded['failed'] + single['failed']:>8}"
            f"{single['rps']:>14}{single['mean_ms']:>9}"
        )
    gateway_row, inventory_row, plain_row, rest_row = results[:4]
    apq_row = results[-1]
    ratios = {
        "gateway / inventory req/s": gateway_row["loaded"]["rps"] / inventory_row["loaded"]["rps"],
        "gateway without dedup / inventory req/s": plain_row["loaded"]["rps"]
        / inventory_row["loaded"]["rps"],
        "REST / GraphQL req/s": rest_row["loaded"]["rps"] / gateway_row["loaded"]["rps"],
        "APQ hash only / full query req/s": apq_row["loaded"]["rps"] / gateway_row["loaded"]["rps"],
        "APQ request body / full request body, bytes": len(json.dumps(APQ_PRODUCTS_PAGE))
        / len(json.dumps(PRODUCTS_PAGE)),
        "gateway overhead, 1 connection, ms": gateway_row["single"]["mean_ms"]
        - inventory_row["single"]["mean_ms"],
        "gateway without dedup overhead, 1 connection, ms": plain_row["single"]["mean_ms"]
        - inventory_row["single"]["mean_ms"],
    }
    print(f"\n(latency in ms; with {CONNECTIONS} connections, and at one connection)")
    for label, value in ratios.items():
        print(f"{label:<50}{value:.2f}")
    print(
        f"\n@defer, orders with the products deferred, median of {deferred['requests']}"
        f" (ms): first payload {deferred['first_payload_ms']}, whole incremental answer"
        f" {deferred['incremental_whole_ms']}, the same query at once {deferred['at_once_ms']}"
    )
    budget_check = measure_budget_check()
    print("\n(the budget check, in process)")
    for label, value in budget_check.items():
        print(f"{label:<50}{value:.2f}")
    print("\nflash sales: POST /orders at the gateway, all customers at once, median of 3\n")
    print(
        f"{'customers':>10}{'products x units':>18}{'answers/s':>11}{'orders/s':>10}"
        f"{'p50 ms':>8}{'max ms':>8}  statuses"
    )
    for sale in sales:
        print(
            f"{sale['buyers']:>10}{sale['hot_products']:>11} x {sale['units_each']:<4}"
            f"{sale['answers_per_s']:>11}{sale['orders_per_s']:>10}{sale['p50_ms']:>8}"
            f"{sale['max_ms']:>8}  {sale['statuses']}"
        )
    (ROOT / ".data" / "bench.json").write_text(
        json.dumps(
            {
                "rows": results,
                "ratios": ratios,
                "budget_check": budget_check,
                "flash_sales": sales,
                "defer": deferred,
            },
            indent=2,
        )
    )
    failed = sum(row["loaded"]["failed"] + row["single"]["failed"] for row in results)
    failed += sum(sale["failed"] for sale in sales)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
