"""Fewer subgraph requests: one per subgraph per plan step, identical subgraph queries in
flight sent once, and (when enabled) identical client queries in flight run once. Nothing
is ever shared across identities, and mutations are never shared."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from platform_devkit.processes import ServiceProcess
from platform_devkit.pytest_plugin import TokenFactory

from .conftest import World, start_gateway

SLOW_SECONDS = 0.6


@pytest.fixture
def deduplicating_gateway(
    world: World, tmp_path: Path, service_env: dict[str, str]
) -> Iterator[ServiceProcess]:
    gateway = start_gateway(
        world.supergraph, service_env, tmp_path, GATEWAY_DEDUPLICATE_INBOUND_REQUESTS="true"
    )
    yield gateway
    gateway.stop()


@pytest.fixture
def slow_subgraphs(world: World) -> Iterator[None]:
    """Every subgraph answer waits, so concurrent requests are surely in flight together."""
    world.reset_counts()
    for process in world.subgraphs.values():
        httpx.post(process.base_url + "/delay", params={"seconds": SLOW_SECONDS})
    yield
    for process in world.subgraphs.values():
        httpx.post(process.base_url + "/delay", params={"seconds": 0})
    world.reset_counts()


def _concurrently(
    url: str, query: str, headers: list[dict[str, str]] | None = None, count: int = 8
) -> list[httpx.Response]:
    headers = headers or [{}] * count

    def post(header: dict[str, str]) -> httpx.Response:
        return httpx.post(url + "/graphql", json={"query": query}, headers=header, timeout=30)

    with ThreadPoolExecutor(len(headers)) as pool:
        return list(pool.map(post, headers))


def _bodies(responses: list[httpx.Response]) -> list[Any]:
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    return [r.json() for r in responses]


def test_fetches_to_one_subgraph_at_one_step_are_one_request(world: World) -> None:
    world.reset_counts()
    data = world.data("{ users { reviews { body } } topProducts { reviews { body } } }")
    assert data["users"][0]["reviews"] and data["topProducts"][0]["reviews"]
    # users (accounts) and topProducts (products), then ONE reviews request for both lists
    assert world.counts() == {
        "accounts": 1,
        "products": 1,
        "reviews": 1,
        "ratings": 0,
        "warehouse": 0,
    }


@pytest.mark.usefixtures("slow_subgraphs")
def test_identical_subgraph_queries_in_flight_are_sent_once(world: World) -> None:
    bodies = _bodies(_concurrently(world.gateway.base_url, "{ me { name } }"))
    assert all(body["data"] == {"me": {"name": "Ada"}} for body in bodies)
    assert world.counts()["accounts"] == 1


@pytest.mark.usefixtures("slow_subgraphs")
def test_subgraph_queries_of_different_identities_are_never_shared(
    world: World, make_token: TokenFactory
) -> None:
    headers = [
        {"Authorization": f"Bearer {make_token(sub)}"} for sub in ("alice", "bob") for _ in "123"
    ]
    _bodies(_concurrently(world.gateway.base_url, "{ me { name } }", headers))
    assert world.counts()["accounts"] == 2


@pytest.mark.usefixtures("slow_subgraphs")
def test_identical_client_queries_in_flight_run_once_when_enabled(
    world: World, deduplicating_gateway: ServiceProcess, make_token: TokenFactory
) -> None:
    query = "{ topProducts { name reviews { body } } }"
    bodies = _bodies(_concurrently(deduplicating_gateway.base_url, query))
    # the same answer; its extensions.cost is each caller's own
    assert all(body["data"] == bodies[0]["data"] for body in bodies) and "errors" not in bodies[0]
    assert len({body["extensions"]["cost"]["requestedQueryCost"] for body in bodies}) == 1
    assert world.counts()["products"] == 1
    assert world.counts()["reviews"] == 1

    world.reset_counts()
    token = make_token("carol")
    headers = [{}, {}, {"Authorization": f"Bearer {token}"}, {"Authorization": f"Bearer {token}"}]
    _bodies(_concurrently(deduplicating_gateway.base_url, query, headers))
    assert world.counts()["products"] == 2  # anonymous and carol: two identities, two runs


@pytest.mark.usefixtures("slow_subgraphs")
def test_mutations_are_never_shared(world: World, deduplicating_gateway: ServiceProcess) -> None:
    mutation = 'mutation { addReview(body: "same") { body } }'
    bodies = _bodies(_concurrently(deduplicating_gateway.base_url, mutation, count=4))
    # the fixture numbers each review it adds: four answers, four different reviews
    assert len({body["data"]["addReview"]["body"] for body in bodies}) == 4
    assert world.counts()["reviews"] == 4
