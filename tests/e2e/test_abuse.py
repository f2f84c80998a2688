"""A burst of abusive anonymous requests (the attacks that once stalled the platform) while
an ordinary client reads products: every abusive request is refused with a 4xx, and every
ordinary request succeeds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from .conftest import Platform

ALIAS_FLOOD = "{ " + " ".join(f"a{i}: products(limit: 100) {{ total }}" for i in range(500)) + " }"
TYPENAME_FLOOD = "{ " + " ".join(f"t{i}: __typename" for i in range(25_000)) + " }"


def _abuse(base_url: str, number: int) -> int:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        kind = number % 3
        if kind == 0:
            return client.get("/products", params={"min_price": "1e999999999"}).status_code
        query = ALIAS_FLOOD if kind == 1 else TYPENAME_FLOOD + f" # {number}"  # all distinct
        return client.post("/graphql", json={"query": query}).status_code


def _read(base_url: str) -> list[int]:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        return [client.get("/products", params={"limit": 5}).status_code for _ in range(20)]


def test_ordinary_reads_succeed_through_a_burst_of_abuse(platform: Platform) -> None:
    base_url = platform.gateway.base_url
    with ThreadPoolExecutor(8) as pool:
        abusive = [pool.submit(_abuse, base_url, n) for n in range(60)]
        ordinary = pool.submit(_read, base_url)
        statuses = [future.result() for future in abusive]
        reads = ordinary.result()
    assert all(400 <= status < 500 for status in statuses), statuses
    assert reads == [200] * 20
    assert httpx.get(base_url + "/healthz", timeout=10).status_code == 200
