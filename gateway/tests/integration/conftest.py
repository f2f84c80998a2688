"""A federation of three tiny subgraphs (fed_fixtures) composed by the reference composer,
with a real gateway process in front, shared by the gateway's feature tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from composer import SubgraphSource, compose

from platform_devkit.processes import ServiceProcess, free_port

HERE = Path(__file__).resolve().parent
NAMES = ("accounts", "products", "reviews", "ratings", "warehouse")
LIBRARY_NAMES = ("catalog", "loans", "registry", "ratings")


@dataclass
class World:
    gateway: ServiceProcess
    subgraphs: dict[str, ServiceProcess]
    supergraph: str

    def query(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        return httpx.post(
            self.gateway.base_url + "/graphql", json=body, headers=headers, timeout=30
        )

    def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = self.query(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    def reset_counts(self) -> None:
        for process in self.subgraphs.values():
            httpx.post(process.base_url + "/reset")

    def counts(self) -> dict[str, int]:
        return {
            name: httpx.get(p.base_url + "/count").json()["graphql"]
            for name, p in self.subgraphs.items()
        }


def _sdl(process: ServiceProcess) -> str:
    response = httpx.post(process.base_url + "/graphql", json={"query": "{ _service { sdl } }"})
    return str(response.json()["data"]["_service"]["sdl"])


def start_gateway(
    supergraph: str, service_env: dict[str, str], folder: Path, **settings: str
) -> ServiceProcess:
    """A gateway process on this supergraph (written into `folder`, beside its log), with
    a 2 s subgraph timeout unless `settings` (environment variables) say otherwise."""
    path = folder / "supergraph.graphql"
    path.write_text(supergraph)
    env = {
        **service_env,
        "SUPERGRAPH_PATH": str(path),
        "GATEWAY_SUBGRAPH_TIMEOUT_SECONDS": "2",
        **settings,
    }
    return ServiceProcess(
        "gateway",
        "gateway.entrypoints.app:create_app",
        free_port(),
        env=env,
        log_path=folder / "gateway.log",
    ).start()


def _start_world(
    module: str, names: tuple[str, ...], service_env: dict[str, str], logs: Path
) -> Iterator[World]:
    env = {
        **service_env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    subgraphs = {
        name: ServiceProcess(
            name,
            f"fed_fixtures.{module}:create_{name}",
            free_port(),
            env=env,
            log_path=logs / f"{name}.log",
        )
        for name in names
    }
    try:
        for process in subgraphs.values():
            process.start()
        supergraph = compose(
            [
                SubgraphSource(name, p.base_url + "/graphql", _sdl(p))
                for name, p in subgraphs.items()
            ]
        )
        gateway = start_gateway(supergraph, service_env, logs)
        yield World(gateway, subgraphs, supergraph)
        gateway.stop()
    finally:
        for process in subgraphs.values():
            process.stop()


@pytest.fixture(scope="session")
def world(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from _start_world("subgraphs", NAMES, service_env, tmp_path_factory.mktemp("federation"))


@pytest.fixture(scope="session")
def library(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The fed_fixtures.library federation (see its docstring for what it is built to test)."""
    yield from _start_world(
        "library", LIBRARY_NAMES, service_env, tmp_path_factory.mktemp("library")
    )
