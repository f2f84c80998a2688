"""`make bench`'s @defer row: for the orders page with the products' details deferred, how
long a client waits for the first payload of the incremental answer, for the whole
incremental answer, and for the same query answered at once (a client without multipart).
Sequential requests on one connection each way, interleaved; medians in ms."""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx

DEFERRED = {
    "query": "{ orders { items { id status "
    '... @defer(label: "lines") { items { quantity product { name price } } } } } }'
}
ACCEPT_DEFER = "multipart/mixed;deferSpec=20220824, application/json;q=0.9"
DELIMITER = b"\r\n---"
REQUESTS = 40


def _incremental(client: httpx.Client, url: str, token: str) -> tuple[float, float]:
    """(first payload, whole answer) in seconds, for one multipart request."""
    headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT_DEFER}
    started = time.perf_counter()
    first = None
    seen = b""
    with client.stream("POST", url, json=DEFERRED, headers=headers) as response:
        if "multipart/mixed" not in response.headers.get("content-type", ""):
            raise SystemExit(f"@defer bench: not a multipart answer: {response.read()[:300]!r}")
        for chunk in response.iter_raw():
            if first is None:
                seen += chunk
                # the first part is whole once the delimiter after it has come
                if seen.count(DELIMITER) >= 2:
                    first = time.perf_counter() - started
    whole = time.perf_counter() - started
    return first if first is not None else whole, whole


def _at_once(client: httpx.Client, url: str, token: str) -> float:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    started = time.perf_counter()
    body = client.post(url, json=DEFERRED, headers=headers).json()
    if body.get("errors") or not body.get("data", {}).get("orders"):
        raise SystemExit(f"@defer bench: unexpected answer {str(body)[:300]}")
    return time.perf_counter() - started


def measure(gateway_url: str, token: str) -> dict[str, Any]:
    url = gateway_url + "/graphql"
    firsts, wholes, at_once = [], [], []
    with httpx.Client(timeout=30) as client:
        for _ in range(3):  # warm: plans made, connections open
            _incremental(client, url, token)
            _at_once(client, url, token)
        for _ in range(REQUESTS):
            first, whole = _incremental(client, url, token)
            firsts.append(first)
            wholes.append(whole)
            at_once.append(_at_once(client, url, token))

    def median_ms(values: list[float]) -> float:
        return round(statistics.median(values) * 1000, 2)

    return {
        "requests": REQUESTS,
        "first_payload_ms": median_ms(firsts),
        "incremental_whole_ms": median_ms(wholes),
        "at_once_ms": median_ms(at_once),
    }
