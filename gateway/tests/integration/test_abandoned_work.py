"""Work stops when nobody waits: a client that leaves cancels the gateway's subgraph calls;
every subgraph call says how long the gateway will wait and names the end client."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .conftest import World, start_gateway

WAIT_SECONDS = 20  # how long the test waits for an event before calling it missing
SLOW_SECONDS = 10  # how long reviews takes to answer: far beyond the client's patience


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the awaited event never happened"
        time.sleep(0.05)


def _abandoned(world: World) -> int:
    return int(httpx.get(world.subgraphs["reviews"].base_url + "/count").json()["abandoned"])


def test_a_client_that_leaves_cancels_the_gateways_subgraph_calls(
    world: World, tmp_path: Path, service_env: dict[str, str]
) -> None:
    gateway = start_gateway(
        world.supergraph, service_env, tmp_path, GATEWAY_SUBGRAPH_TIMEOUT_SECONDS="60"
    )
    reviews = world.subgraphs["reviews"].base_url
    world.reset_counts()
    httpx.post(reviews + "/delay", params={"seconds": SLOW_SECONDS})
    try:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                gateway.base_url + "/graphql",
                json={"query": "{ latestReviews { body } }"},
                timeout=0.5,
            )
        _wait_until(lambda: _abandoned(world) == 1)
        metrics = httpx.get(gateway.base_url + "/metrics").text
        assert re.search(
            r'^http_requests_abandoned_total\{service="gateway"\} 1\.0$', metrics, re.M
        )
    finally:
        httpx.post(reviews + "/delay", params={"seconds": 0})
        gateway.stop()
        world.reset_counts()


@pytest.mark.parametrize(("sub", "client"), [(None, "addr:127.0.0.1"), ("alice", "sub:alice")])
def test_a_subgraph_call_carries_the_gateways_deadline_and_the_signed_end_client(
    world: World,
    make_token: Callable[..., str],
    jwt_secret: str,
    sub: str | None,
    client: str,
) -> None:
    headers = {"Authorization": f"Bearer {make_token(sub)}"} if sub else None
    assert (
        world.data("{ latestReviews { body } }")
        and world.query("{ latestReviews { body } }", headers=headers).status_code == 200
    )

    sent = httpx.get(world.subgraphs["reviews"].base_url + "/headers").json()
    assert sent["x-request-timeout-ms"] == "2000"  # the world's gateway waits 2 s
    assert sent["x-client-key"] == client
    signature = hmac.new(jwt_secret.encode(), client.encode(), hashlib.sha256).hexdigest()
    assert sent["x-client-key-signature"] == signature
