"""A real inventory process (uvicorn) on a real SecantusDB, one per test module, each module
with its own database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from platform_devkit.processes import ServiceProcess, free_port

APP = "inventory.entrypoints.app:create_app"


def start_inventory(
    mongodb_uri: str, env: dict[str, str], log_path: Path, **extra_env: str
) -> ServiceProcess:
    return ServiceProcess(
        "inventory",
        APP,
        free_port(),
        env={**env, "INVENTORY_MONGODB_URI": mongodb_uri, **extra_env},
        log_path=log_path,
    ).start()


@pytest.fixture(scope="module")
def inventory(
    mongo_server_uri: str, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    base, _, query = mongo_server_uri.partition("?")
    uri = f"{base.rstrip('/')}/inv_{uuid.uuid4().hex[:10]}" + (f"?{query}" if query else "")
    log_path = tmp_path_factory.mktemp("inventory") / "inventory.log"
    process = start_inventory(uri, service_env, log_path)
    yield process
    process.stop()


class GraphQL:
    """A tiny client: POST a document, get the JSON answer back."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
def gql(inventory: ServiceProcess) -> GraphQL:
    return GraphQL(inventory.base_url + "/graphql")


@pytest.fixture(scope="module")
def admin_token(make_token: Callable[..., str]) -> str:
    return make_token("admin-1", "admin")


@pytest.fixture(scope="module")
def service_token(make_token: Callable[..., str]) -> str:
    return make_token("order-subgraph", "service")


CREATE = """
mutation Create($input: CreateProductInput!) {
  createProduct(input: $input) { id sku name description category price currency stock
                                 createdAt updatedAt }
}
"""


@pytest.fixture(scope="module")
def create_product(gql: GraphQL, admin_token: str) -> Callable[..., dict[str, Any]]:
    def create(**fields: Any) -> dict[str, Any]:
        values = {"name": f"Product {uuid.uuid4().hex[:6]}", "price": "10.00", **fields}
        body = gql(CREATE, {"input": values}, admin_token)
        assert "errors" not in body, body
        product: dict[str, Any] = body["data"]["createProduct"]
        return product

    return create


def error_code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])
