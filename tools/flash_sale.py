"""The flash-sale row of `make bench`: many customers at once for a few hot products.

Each round makes HOT products of UNITS units each, then BUYERS distinct customers post one
`POST /orders` of one unit each, all at once, through the gateway. Answers per second is
BUYERS over the time from the first request sent to the last answer; the round is checked:
exactly HOT x UNITS orders created, every other answer a 409, none a 5xx."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp

from platform_kit.auth import Role, issue_token

__all__ = ["FlashSale", "flash_sale"]


@dataclass(frozen=True)
class FlashSale:
    buyers: int
    hot: int
    units: int
    rounds: int = 3


async def _round(base_url: str, secret: str, sale: FlashSale) -> dict[str, Any]:
    admin = {"Authorization": f"Bearer {issue_token('bench-admin', Role.ADMIN, secret)}"}
    tokens = [
        issue_token(f"buyer-{uuid.uuid4().hex[:10]}", Role.CUSTOMER, secret)
        for _ in range(sale.buyers)
    ]
    connector = aiohttp.TCPConnector(limit=sale.buyers)
    async with aiohttp.ClientSession(base_url, connector=connector) as session:
        products = []
        for n in range(sale.hot):
            body = {"name": f"Hot {n} {uuid.uuid4().hex[:6]}", "price": "9.99", "stock": sale.units}
            async with session.post("/products", json=body, headers=admin) as response:
                products.append((await response.json())["id"])

        async def buy(n: int) -> tuple[int, float]:
            started = time.perf_counter()
            line = {"product_id": products[n % sale.hot], "quantity": 1}
            headers = {"Authorization": f"Bearer {tokens[n]}"}
            async with session.post("/orders", json={"items": [line]}, headers=headers) as r:
                await r.read()
                return r.status, time.perf_counter() - started

        started = time.perf_counter()
        answers = await asyncio.gather(*(buy(n) for n in range(sale.buyers)))
        elapsed = time.perf_counter() - started
    statuses = Counter(status for status, _ in answers)
    latencies = sorted(seconds for _, seconds in answers)
    sold = sale.hot * sale.units
    return {
        "answers_per_s": round(sale.buyers / elapsed, 1),
        "orders_per_s": round(statuses[201] / elapsed, 1),
        "p50_ms": round(1000 * latencies[len(latencies) // 2]),
        "max_ms": round(1000 * latencies[-1]),
        "statuses": dict(sorted(statuses.items())),
        "right": statuses == {201: sold, 409: sale.buyers - sold},
    }


def flash_sale(base_url: str, secret: str, sale: FlashSale) -> dict[str, Any]:
    """The median round by answers per second, and whether every round sold exactly right."""
    rounds = [asyncio.run(_round(base_url, secret, sale)) for _ in range(sale.rounds)]
    median = sorted(rounds, key=lambda r: r["answers_per_s"])[len(rounds) // 2]
    return {
        **median,
        "rounds_answers_per_s": [r["answers_per_s"] for r in rounds],
        "median_answers_per_s": statistics.median(r["answers_per_s"] for r in rounds),
        "failed": sum(not r["right"] for r in rounds),
        "buyers": sale.buyers,
        "hot_products": sale.hot,
        "units_each": sale.units,
    }
