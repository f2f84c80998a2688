"""The demo catalog loads through the gateway, and loading it twice changes nothing."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from seed import CATALOG, bulk_seed, seed

from inventory.settings import InventorySettings

from .conftest import Platform


def test_the_demo_catalog_loads_once(platform: Platform) -> None:
    admin = platform.make_token("seed", "admin")
    url = platform.gateway.base_url + "/graphql"
    expected = len(json.loads(CATALOG.read_text()))
    assert seed(url, admin) == (expected, 0)
    assert seed(url, admin) == (0, expected)
    body = platform.graphql('{ products(filter: {category: "books"}) { total } }').json()
    assert body["data"]["products"]["total"] == 5


def test_a_generated_catalog_loads_in_bulk_and_lists_through_the_gateway(
    platform: Platform,
) -> None:
    settings = InventorySettings(
        INVENTORY_MONGODB_URI=platform.inventory.env["INVENTORY_MONGODB_URI"]
    )
    assert asyncio.run(bulk_seed(250, settings)) == 250
    body = platform.graphql(
        '{ products(filter: {category: "cat7"}, sort: PRICE, limit: 100) '
        "{ total totalPrecision items { name price } } }"
    ).json()
    page = body["data"]["products"]
    assert (page["total"], page["totalPrecision"]) == (5, "exact")
    prices = [Decimal(item["price"]) for item in page["items"]]
    assert prices == sorted(prices) and len(prices) == 5
