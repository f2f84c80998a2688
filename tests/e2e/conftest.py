"""The whole platform as it runs: SecantusDB, both subgraphs and the gateway, each its own
process, with the committed supergraph."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from platform_devkit.processes import ServiceProcess, free_port


def _database(server_uri: str, prefix: str) -> str:
    base, _, query = server_uri.partition("?")
    return f"{base.rstrip('/')}/{prefix}_{uuid.uuid4().hex[:10]}" + (f"?{query}" if query else "")


@dataclass
class Platform:
    gateway: ServiceProcess
    inventory: ServiceProcess
    orders: ServiceProcess
    make_token: Callable[..., str]

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(
            self.gateway.base_url + "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
            timeout=30,
        )


@pytest.fixture(scope="module")
def platform(
    mongo_server_uri: str,
    service_env: dict[str, str],
    make_token: Callable[..., str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    logs = tmp_path_factory.mktemp("platform")
    inventory = ServiceProcess(
        "inventory",
        "inventory.entrypoints.app:create_app",
        free_port(),
        env={**service_env, "INVENTORY_MONGODB_URI": _database(mongo_server_uri, "inv")},
        log_path=logs / "inventory.log",
    ).start()
    orders = ServiceProcess(
        "orders",
        "orders.entrypoints.app:create_app",
        free_port(),
        env={
            **service_env,
            "ORDERS_MONGODB_URI": _database(mongo_server_uri, "ord"),
            "INVENTORY_URL": inventory.base_url,
        },
        log_path=logs / "orders.log",
    ).start()
    gateway = ServiceProcess(
        "gateway",
        "gateway.entrypoints.app:create_app",
        free_port(),
        env={
            **service_env,
            "SUBGRAPH_URL_INVENTORY": inventory.base_url + "/graphql",
            "SUBGRAPH_URL_ORDERS": orders.base_url + "/graphql",
        },
        log_path=logs / "gateway.log",
    ).start()
    yield Platform(gateway, inventory, orders, make_token)
    for process in (gateway, orders, inventory):
        process.stop()
