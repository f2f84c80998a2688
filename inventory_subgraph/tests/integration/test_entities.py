"""Federation: the SDL and batched entity resolution (N references, one database query)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

from platform_kit.processes import ServiceProcess

from .conftest import GraphQL

ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Product { id name price } }
}
"""


def find_commands(inventory: ServiceProcess) -> float:
    metrics = httpx.get(inventory.base_url + "/metrics").text
    match = re.search(
        r'^mongodb_command_duration_seconds_count\{command="find",outcome="ok"\} (\S+)$',
        metrics,
        re.MULTILINE,
    )
    return float(match.group(1)) if match else 0.0


def test_the_sdl_declares_product_as_an_entity(gql: GraphQL) -> None:
    sdl = gql("{ _service { sdl } }")["data"]["_service"]["sdl"]
    assert 'type Product @key(fields: "id")' in sdl
    assert "federation/v2" in sdl


def test_n_references_cost_one_database_query(
    inventory: ServiceProcess, gql: GraphQL, create_product: Callable[..., dict[str, Any]]
) -> None:
    products = [create_product(name=f"E{i}") for i in range(25)]
    representations = [{"__typename": "Product", "id": p["id"]} for p in products]
    representations += [
        {"__typename": "Product", "id": "0123456789abcdef01234567"},
        {"__typename": "Product", "id": "malformed"},
    ]
    before = find_commands(inventory)
    body = gql(ENTITIES, {"representations": representations})
    after = find_commands(inventory)
    entities = body["data"]["_entities"]
    assert [e["name"] for e in entities[:25]] == [f"E{i}" for i in range(25)]
    assert entities[25:] == [None, None]
    assert after - before == 1
