"""The whole platform as it runs: SecantusDB, both subgraphs and the gateway, each its own
process, with the committed supergraph."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from platform_devkit.processes import ServiceProcess
from platform_devkit.stack import database_uri, start_platform


def _database(server_uri: str, prefix: str) -> str:
    return database_uri(server_uri, f"{prefix}_{uuid.uuid4().hex[:10]}")


@dataclass
class Platform:
    gateway: ServiceProcess
    inventory: ServiceProcess
    orders: ServiceProcess
    make_token: Callable[..., str]
    inventory_db: str = ""  # the inventory's database URI, to read what it stored

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
    request: pytest.FixtureRequest,
    mongo_server_uri: str,
    service_env: dict[str, str],
    make_token: Callable[..., str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    """The platform of a test module; its `PLATFORM_ENV` (a dict), when it has one, adds to
    every service's environment."""
    started: list[ServiceProcess] = []
    inventory_db = _database(mongo_server_uri, "inv")
    try:
        services = start_platform(
            {**service_env, **getattr(request.module, "PLATFORM_ENV", {})},
            inventory_uri=inventory_db,
            orders_uri=_database(mongo_server_uri, "ord"),
            logs=tmp_path_factory.mktemp("platform"),
            launch=lambda process: started.append(process.start()),
        )
        yield Platform(
            services.gateway, services.inventory, services.orders, make_token, inventory_db
        )
    finally:
        for process in reversed(started):
            process.stop()
