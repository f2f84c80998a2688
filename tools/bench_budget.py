"""What the budget check adds to a request, in process (no network, no subgraph): the
admission stage of the gateway's pipeline (variables coerced, the operation costed with
them, its cost taken from the client's bucket, and who the client is) for the REST products
page, with budgets and without. `make bench` prints it as a row; alone:
`.venv/bin/python tools/bench_budget.py`."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from gateway.entrypoints.client_identity import ClientIdentity
from gateway.federation.budget import BudgetLimits, Budgets
from gateway.federation.executor import Executor
from gateway.federation.pipeline import Gateway
from gateway.federation.supergraph import Supergraph
from gateway.federation.transport import SubgraphTransport
from gateway.rest.operations import LIST_PRODUCTS

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 20_000
VARIABLES = {"filter": {"q": "lamp"}, "sort": "CREATED_AT_DESC", "limit": 20}


def _per_call_us(calls: dict[str, Any], rounds: int = ROUNDS) -> dict[str, float]:
    """Microseconds a call of each, the median of 9 runs taken in turns (the machine's
    noise falls on all of them alike)."""
    runs: dict[str, list[float]] = {label: [] for label in calls}
    for call in calls.values():  # warm-up
        for _ in range(rounds // 10):
            call()
    for _ in range(9):
        for label, call in calls.items():
            started = time.perf_counter()
            for _ in range(rounds):
                call()
            runs[label].append((time.perf_counter() - started) / rounds * 1e6)
    return {label: statistics.median(values) for label, values in runs.items()}


def measure() -> dict[str, float]:
    supergraph = Supergraph.parse((ROOT / "gateway" / "supergraph.graphql").read_text())
    executor = Executor(supergraph.subgraphs, {}, SubgraphTransport(timeout=1))
    budgets = Budgets(BudgetLimits(restore_rate=1e12))  # never refuses: the check's cost only
    gateway = Gateway(supergraph, executor, budgets=budgets)
    prepared = gateway.prepare(LIST_PRODUCTS, None)
    identity = ClientIdentity()
    scope = {"client": ("127.0.0.2", 50_000), "headers": []}
    clients = [f"addr:10.0.{n // 256}.{n % 256}" for n in range(50_000)]
    turn = iter(range(10**12))

    measured = _per_call_us(
        {
            "with": lambda: gateway.admit(prepared, VARIABLES, identity.of(scope, None)),
            "without": lambda: gateway.admit(prepared, VARIABLES, None),
            "take": lambda: budgets.take(clients[next(turn) % len(clients)], 71),
        }
    )
    return {
        "admission (coerce, cost, budget), us": measured["with"],
        "admission without a budget, us": measured["without"],
        "budget check (identity + bucket), us": measured["with"] - measured["without"],
        "bucket take among 50k clients, us": measured["take"],
    }


def main() -> None:
    for label, value in measure().items():
        print(f"{label:<50}{value:.2f}")


if __name__ == "__main__":
    main()
