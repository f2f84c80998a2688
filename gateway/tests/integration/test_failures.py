"""A subgraph that is down or hangs yields partial data and errors: never a 500, never a
hang. Null propagation follows the spec."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from platform_devkit.processes import ServiceProcess, free_port

from .conftest import World, start_gateway


def _gateway_with_reviews_at(
    world: World, url: str, tmp_path: Path, env: dict[str, str]
) -> ServiceProcess:
    supergraph = world.supergraph.replace(world.subgraphs["reviews"].base_url + "/graphql", url)
    return start_gateway(supergraph, env, tmp_path, GATEWAY_SUBGRAPH_TIMEOUT_SECONDS="1")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


def _post(gateway: ServiceProcess, query: str) -> httpx.Response:
    return httpx.post(gateway.base_url + "/graphql", json={"query": query}, timeout=30)


@pytest.mark.parametrize("mode", ["down", "hanging"])
def test_a_failing_subgraph_gives_partial_data_and_errors(
    world: World, tmp_path: Path, service_env: dict[str, str], silent_port: int, mode: str
) -> None:
    port = free_port() if mode == "down" else silent_port
    gateway = _gateway_with_reviews_at(
        world, f"http://127.0.0.1:{port}/graphql", tmp_path, service_env
    )
    try:
        response = _post(gateway, '{ me { name } product(upc: "p1") { name reviews { body } } }')
        assert response.status_code == 200
        body = response.json()
        assert body["data"] == {"me": {"name": "Ada"}, "product": None}
        codes = {e.get("extensions", {}).get("code") for e in body["errors"]}
        assert "SERVICE_UNAVAILABLE" in codes
        assert any(e.get("extensions", {}).get("serviceName") == "reviews" for e in body["errors"])

        root = _post(gateway, "{ latestReviews { body } }").json()
        assert root["data"] is None
        assert root["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert httpx.get(gateway.base_url + "/readyz", timeout=10).status_code == 503
    finally:
        gateway.stop()


def test_a_nullable_field_absorbs_the_failure(
    world: World, tmp_path: Path, service_env: dict[str, str]
) -> None:
    gateway = _gateway_with_reviews_at(
        world, f"http://127.0.0.1:{free_port()}/graphql", tmp_path, service_env
    )
    try:
        body = _post(
            gateway, '{ a: product(upc: "p1") { name } b: product(upc: "p2") { reviews { body } } }'
        ).json()
        assert body["data"] == {"a": {"name": "Table"}, "b": None}
        assert any(e.get("path") == ["b", "reviews"] for e in body["errors"])
    finally:
        gateway.stop()
