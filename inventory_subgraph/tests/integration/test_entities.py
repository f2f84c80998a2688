"""Federation: the SDL and batched entity resolution (N references, one database query)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from platform_devkit.processes import ServiceProcess

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


@pytest.mark.parametrize(
    "representations",
    [
        [1],
        [{"id": "0123456789abcdef01234567"}],  # no __typename
        [{"__typename": "Nope", "id": "x"}],
        [{"__typename": "Product", "id": str(n)} for n in range(10_001)],
    ],
    ids=["not-an-object", "no-typename", "unknown-type", "too-many"],
)
def test_malformed_or_too_many_references_are_bad_user_input(
    gql: GraphQL, representations: list[Any]
) -> None:
    body = gql(ENTITIES, {"representations": representations})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_an_alias_flood_sent_straight_to_the_subgraph_is_refused(gql: GraphQL) -> None:
    flood = " ".join(f"a{n}: products(limit: 100) {{ total }}" for n in range(2_500))
    body = gql("{ " + flood + " }")
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "aliases" in body["errors"][0]["message"]
