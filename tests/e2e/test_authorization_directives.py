"""The authorization directives of our own schema, through the real gateway and subgraphs:
orders need a signed-in caller (@authenticated), product writes the admin scope
(@requiresScopes). The gateway refuses before any subgraph is asked (the subgraphs'
request counters), and the subgraphs still check for themselves."""

from __future__ import annotations

import uuid

from .conftest import Platform
from .test_gateway_e2e import graphql_requests

ORDERS = "{ orders { total items { id status } } }"
CREATE = 'mutation { createProduct(input: {name: "Kettle", price: "9.50"}) { id name } }'


def _counts(platform: Platform) -> tuple[float, float]:
    return graphql_requests(platform.inventory), graphql_requests(platform.orders)


def test_anonymous_orders_are_unauthenticated_and_never_reach_the_order_subgraph(
    platform: Platform,
) -> None:
    before = _counts(platform)
    answer = platform.graphql(ORDERS).json()
    assert _counts(platform) == before
    # `orders` is non-null: its null takes the whole data with it
    assert answer["data"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in answer["errors"]] == [
        (["orders"], "UNAUTHENTICATED")
    ]
    signed_in = platform.graphql(ORDERS, token=platform.make_token(f"c-{uuid.uuid4().hex[:6]}"))
    assert signed_in.json() == {
        "data": {"orders": {"total": 0, "items": []}},
        "extensions": signed_in.json()["extensions"],
    }
    assert _counts(platform)[1] == before[1] + 1


def test_a_customer_creating_a_product_is_forbidden_at_the_gateway(platform: Platform) -> None:
    customer = platform.make_token(f"c-{uuid.uuid4().hex[:6]}")
    before = _counts(platform)
    answer = platform.graphql(CREATE, token=customer).json()
    assert _counts(platform) == before
    assert answer["data"] == {"createProduct": None}
    assert [(e["path"], e["extensions"]["code"]) for e in answer["errors"]] == [
        (["createProduct"], "FORBIDDEN")
    ]
    admin = platform.make_token("admin-1", "admin")
    created = platform.graphql(CREATE, token=admin).json()
    assert created["data"]["createProduct"]["name"] == "Kettle", created


def test_a_scope_from_the_token_passes_the_gateway_and_the_subgraph_still_checks(
    platform: Platform,
) -> None:
    """A token's `scope` claim counts as scopes at the gateway; the inventory use cases go by
    the role, so a customer granted the admin scope is let through to a refusal there."""
    scoped = platform.make_token(f"c-{uuid.uuid4().hex[:6]}", scopes=("admin",))
    before = _counts(platform)
    answer = platform.graphql(CREATE, token=scoped).json()
    assert _counts(platform)[0] == before[0] + 1
    assert answer["data"] == {"createProduct": None}
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_a_mixed_operation_keeps_what_the_caller_may_see(platform: Platform) -> None:
    answer = platform.graphql('{ products(limit: 1) { total } order(id: "x") { id } }').json()
    assert answer["data"]["order"] is None
    assert isinstance(answer["data"]["products"]["total"], int)
    assert [(e["path"], e["extensions"]["code"]) for e in answer["errors"]] == [
        (["order"], "UNAUTHENTICATED")
    ]
