"""Real concurrent requests against the real services."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from platform_devkit.pytest_plugin import database_server

from .conftest import CREATE_ORDER, UPDATE_STATUS, Stack
from .invariant import assert_stock_conserved

# 50 to 100 requests racing under the services' deadlines: a database server of their own
mongo_server_uri = pytest.fixture(scope="module", name="mongo_server_uri")(database_server)


async def _concurrently(url: str, calls: list[tuple[str, dict[str, Any], str]]) -> list[Any]:
    async with httpx.AsyncClient(
        timeout=60, limits=httpx.Limits(max_connections=len(calls))
    ) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    url,
                    json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {token}"},
                )
                for query, variables, token in calls
            )
        )
    return [response.json() for response in responses]


async def test_fifty_orders_racing_for_ten_units_sell_exactly_ten(stack: Stack) -> None:
    product = stack.product(stock=10)
    calls = [
        (
            CREATE_ORDER,
            {"input": {"items": [{"productId": product["id"], "quantity": 1}]}},
            stack.make_token(f"racer-{uuid.uuid4().hex[:6]}"),
        )
        for _ in range(50)
    ]
    results = await _concurrently(stack.orders.base_url + "/graphql", calls)
    created = [r for r in results if r.get("data") and r["data"]["createOrder"]]
    refused = [r["errors"][0]["extensions"]["code"] for r in results if r.get("errors")]
    assert len(created) == 10
    assert refused == ["INSUFFICIENT_STOCK"] * 40
    assert stack.stock(product["id"]) == 0
    assert_stock_conserved(stack, {product["id"]: 10})


async def test_ten_concurrent_cancels_give_the_units_back_once(stack: Stack) -> None:
    product = stack.product(stock=10)
    token = stack.make_token(f"canceller-{uuid.uuid4().hex[:6]}")
    order = stack.order(token, (product["id"], 4))["data"]["createOrder"]
    calls = [(UPDATE_STATUS, {"id": order["id"], "status": "CANCELLED"}, token)] * 10
    results = await _concurrently(stack.orders.base_url + "/graphql", calls)
    outcomes = {
        r["data"]["updateOrderStatus"]["status"]
        if (r.get("data") or {}).get("updateOrderStatus")
        else r["errors"][0]["extensions"]["code"]
        for r in results
    }
    assert outcomes <= {"CANCELLED", "CONFLICT"} and "CANCELLED" in outcomes
    assert stack.stock(product["id"]) == 10
    assert_stock_conserved(stack, {product["id"]: 10})


async def test_concurrent_repeats_of_one_idempotency_key_make_one_order(stack: Stack) -> None:
    product = stack.product(stock=10)
    token = stack.make_token(f"repeater-{uuid.uuid4().hex[:6]}")
    variables = {
        "input": {"items": [{"productId": product["id"], "quantity": 2}]},
        "key": "same-key",
    }
    results = await _concurrently(
        stack.orders.base_url + "/graphql", [(CREATE_ORDER, variables, token)] * 10
    )
    ids = {r["data"]["createOrder"]["id"] for r in results}
    assert len(ids) == 1
    assert stack.stock(product["id"]) == 8
    assert_stock_conserved(stack, {product["id"]: 10})


async def test_one_customer_racing_thirty_orders_holds_at_most_twenty_open(stack: Stack) -> None:
    product = stack.product(stock=100)
    token = stack.make_token(f"hoarder-{uuid.uuid4().hex[:6]}")
    order = {"input": {"items": [{"productId": product["id"], "quantity": 1}]}}
    results = await _concurrently(
        stack.orders.base_url + "/graphql", [(CREATE_ORDER, order, token)] * 30
    )
    created = [r for r in results if r.get("data") and r["data"]["createOrder"]]
    refused = [r["errors"][0]["extensions"]["code"] for r in results if r.get("errors")]
    assert len(created) == 20  # ORDERS_MAX_OPEN_ORDERS, default 20
    assert refused == ["CONFLICT"] * 10
    assert stack.stock(product["id"]) == 80
    assert_stock_conserved(stack, {product["id"]: 100})
    # closing one frees its place for the next order
    first = created[0]["data"]["createOrder"]["id"]
    assert "errors" not in stack.set_status(token, first, "CANCELLED")
    assert "errors" not in stack.order(token, (product["id"], 1))
