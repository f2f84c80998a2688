"""A real inventory process and a real order process on a real SecantusDB."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from platform_devkit.processes import ServiceProcess, free_port

INVENTORY_APP = "inventory.entrypoints.app:create_app"
ORDERS_APP = "orders.entrypoints.app:create_app"


def database_uri(server_uri: str, prefix: str) -> str:
    base, _, query = server_uri.partition("?")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    return f"{base.rstrip('/')}/{name}" + (f"?{query}" if query else "")


def start_inventory(
    server_uri: str,
    env: dict[str, str],
    logs: Path,
    port: int | None = None,
    database: str | None = None,
) -> ServiceProcess:
    return ServiceProcess(
        "inventory",
        INVENTORY_APP,
        port or free_port(),
        env={**env, "INVENTORY_MONGODB_URI": database or database_uri(server_uri, "inv")},
        log_path=logs / "inventory.log",
    ).start()


def start_orders(
    server_uri: str,
    env: dict[str, str],
    logs: Path,
    inventory_url: str,
    database: str | None = None,
    **extra: str,
) -> ServiceProcess:
    return ServiceProcess(
        "orders",
        ORDERS_APP,
        free_port(),
        env={
            **env,
            "ORDERS_MONGODB_URI": database or database_uri(server_uri, "ord"),
            "INVENTORY_URL": inventory_url,
            **extra,
        },
        log_path=logs / f"orders-{uuid.uuid4().hex[:6]}.log",
    ).start()


def graphql(
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    timeout: float = 30,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=timeout
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


CREATE_PRODUCT = """mutation($input: CreateProductInput!) {
  createProduct(input: $input) { id name price stock currency } }"""
STOCK = "query($id: ID!) { product(id: $id) { stock } }"
CREATE_ORDER = """mutation($input: CreateOrderInput!, $key: String) {
  createOrder(input: $input, idempotencyKey: $key) {
    id userId status total currency createdAt updatedAt
    items { productId name unitPrice quantity lineTotal product { id } } } }"""
UPDATE_STATUS = """mutation($id: ID!, $status: OrderStatus!) {
  updateOrderStatus(id: $id, status: $status) { id status updatedAt } }"""
ORDER = "query($id: ID!) { order(id: $id) { id userId status total } }"
ORDERS = """query($status: OrderStatus, $userId: ID, $limit: Int! = 20, $offset: Int,
                  $cursor: String) {
  orders(status: $status, userId: $userId, limit: $limit, offset: $offset, cursor: $cursor) {
    items { id userId status } total limit offset nextCursor } }"""


@dataclass
class Stack:
    inventory: ServiceProcess
    orders: ServiceProcess
    admin: str
    make_token: Callable[..., str]

    def inventory_gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        return graphql(self.inventory.base_url + "/graphql", query, variables, token)

    def orders_gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        return graphql(self.orders.base_url + "/graphql", query, variables, token)

    def product(self, stock: int = 10, price: str = "10.00", **fields: Any) -> dict[str, Any]:
        values = {"name": f"P-{uuid.uuid4().hex[:6]}", "price": price, "stock": stock, **fields}
        body = self.inventory_gql(CREATE_PRODUCT, {"input": values}, self.admin)
        assert "errors" not in body, body
        product: dict[str, Any] = body["data"]["createProduct"]
        return product

    def stock(self, product_id: str) -> int:
        return int(self.inventory_gql(STOCK, {"id": product_id})["data"]["product"]["stock"])

    def order(self, token: str, *lines: tuple[str, int], key: str | None = None) -> dict[str, Any]:
        items = [{"productId": p, "quantity": q} for p, q in lines]
        return self.orders_gql(CREATE_ORDER, {"input": {"items": items}, "key": key}, token)

    def set_status(self, token: str, order_id: str, status: str) -> dict[str, Any]:
        return self.orders_gql(UPDATE_STATUS, {"id": order_id, "status": status}, token)


@pytest.fixture(scope="module")
def stack(
    mongo_server_uri: str,
    service_env: dict[str, str],
    make_token: Callable[..., str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("stack")
    inventory = start_inventory(mongo_server_uri, service_env, logs)
    orders = start_orders(mongo_server_uri, service_env, logs, inventory.base_url)
    yield Stack(inventory, orders, make_token("admin-1", "admin"), make_token)
    orders.stop()
    inventory.stop()


def code(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    return str(body["errors"][0]["extensions"]["code"])
