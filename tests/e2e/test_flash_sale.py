"""A flash sale through the whole platform: many customers at once for a few units, and a
mutation whose fields partly fail."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from bson import ObjectId
from pymongo import MongoClient

from platform_devkit.pytest_plugin import database_server

from .conftest import Platform

# 50 to 100 requests racing under the services' deadlines: a database server of their own
mongo_server_uri = pytest.fixture(scope="module", name="mongo_server_uri")(database_server)


BUYERS = 100
UNITS = 5


def _product(platform: Platform, stock: int) -> str:
    admin = platform.make_token("admin-1", "admin")
    response = httpx.post(
        platform.gateway.base_url + "/products",
        json={"name": f"Hot {uuid.uuid4().hex[:6]}", "price": "9.99", "stock": stock},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    product_id: str = response.json()["id"]
    return product_id


async def _buy_at_once(platform: Platform, product_id: str, buyers: int) -> list[httpx.Response]:
    tokens = [platform.make_token(f"buyer-{uuid.uuid4().hex[:8]}") for _ in range(buyers)]
    async with httpx.AsyncClient(
        base_url=platform.gateway.base_url,
        timeout=60,
        limits=httpx.Limits(max_connections=buyers),
    ) as client:
        return await asyncio.gather(
            *(
                client.post(
                    "/orders",
                    json={"items": [{"product_id": product_id, "quantity": 1}]},
                    headers={"Authorization": f"Bearer {token}"},
                )
                for token in tokens
            )
        )


def _stored(platform: Platform, product_id: str) -> dict[str, Any]:
    with MongoClient(platform.inventory_db) as client:
        database = client.get_default_database()
        doc = database.products.find_one({"_id": ObjectId(product_id)})
    assert doc is not None
    return doc


def test_a_hundred_buyers_racing_for_five_units_get_five_orders_and_ninety_five_refusals(
    platform: Platform,
) -> None:
    product_id = _product(platform, stock=UNITS)
    responses = asyncio.run(_buy_at_once(platform, product_id, BUYERS))
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: UNITS, 409: BUYERS - UNITS}, statuses
    refused = [r.json()["code"] for r in responses if r.status_code == 409]
    assert set(refused) == {"INSUFFICIENT_STOCK"}
    stored = _stored(platform, product_id)
    assert stored["stock"] == 0
    assert len(stored["holds"]) == UNITS  # one per pending order, none for a refusal


ALIASED_ORDERS = 30
ONE_UNIT = """{alias}: createOrder(input: {{items: [{{productId: "{product}", quantity: 1}}]}}) {{
  id status }}"""


def test_a_mutation_that_partly_fails_still_answers_what_it_made(platform: Platform) -> None:
    product_id = _product(platform, stock=100)
    customer = platform.make_token(f"bulk-{uuid.uuid4().hex[:6]}")
    fields = [ONE_UNIT.format(alias=f"o{n}", product=product_id) for n in range(ALIASED_ORDERS)]
    body = platform.graphql("mutation {\n" + "\n".join(fields) + "\n}", token=customer).json()
    data = body["data"]
    made = [data[f"o{n}"] for n in range(ALIASED_ORDERS) if data[f"o{n}"] is not None]
    assert len(made) == 20  # ORDERS_MAX_OPEN_ORDERS, default 20
    assert all(order["status"] == "PENDING" for order in made)
    refused = body["errors"]
    assert [error["extensions"]["code"] for error in refused] == ["CONFLICT"] * 10
    assert {error["path"][0] for error in refused} == {
        f"o{n}" for n in range(ALIASED_ORDERS) if data[f"o{n}"] is None
    }
    mine = httpx.get(
        platform.gateway.base_url + "/orders",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {customer}"},
        timeout=30,
    ).json()
    assert {order["id"] for order in made} == {order["id"] for order in mine["items"]}
