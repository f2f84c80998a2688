"""Through the gateway, across our two subgraphs."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from platform_devkit.processes import ServiceProcess

from .conftest import Platform

CREATE_PRODUCT = """mutation($input: CreateProductInput!) {
  createProduct(input: $input) { id name price stock } }"""
CREATE_ORDER = """mutation($items: [OrderLineInput!]!) {
  createOrder(input: {items: $items}) { id status total items { product { name stock } } } }"""
CROSS = "{ orders { items { items { product { name price } } } } }"


def graphql_requests(service: ServiceProcess) -> float:
    metrics = httpx.get(service.base_url + "/metrics").text
    pattern = r'^http_requests_total\{[^}]*method="POST",route="/graphql"[^}]*\} (\S+)$'
    return sum(float(value) for value in re.findall(pattern, metrics, re.MULTILINE))


def _product(platform: Platform, admin: str, **fields: Any) -> dict[str, Any]:
    body = platform.graphql(
        CREATE_PRODUCT,
        {"input": {"name": f"P{uuid.uuid4().hex[:5]}", "price": "4.20", "stock": 20, **fields}},
        admin,
    ).json()
    assert "errors" not in body, body
    product: dict[str, Any] = body["data"]["createProduct"]
    return product


def test_an_order_is_created_and_read_across_subgraphs(platform: Platform) -> None:
    admin = platform.make_token("admin-1", "admin")
    customer = platform.make_token(f"c-{uuid.uuid4().hex[:6]}")
    product = _product(platform, admin, name="Teapot", price="19.99", stock=5)
    body = platform.graphql(
        CREATE_ORDER, {"items": [{"productId": product["id"], "quantity": 2}]}, customer
    ).json()
    order = body["data"]["createOrder"]
    assert order["status"] == "PENDING" and order["total"] == "39.98"
    assert order["items"] == [{"product": {"name": "Teapot", "stock": 3}}]


def test_the_cross_subgraph_order_query_costs_one_request_per_subgraph(
    platform: Platform,
) -> None:
    admin = platform.make_token("admin-1", "admin")
    customer = platform.make_token(f"c-{uuid.uuid4().hex[:6]}")
    products = [_product(platform, admin) for _ in range(3)]
    lines = [{"productId": p["id"], "quantity": 1} for p in products]
    for _ in range(6):
        platform.graphql(CREATE_ORDER, {"items": lines}, customer)
    before = (graphql_requests(platform.inventory), graphql_requests(platform.orders))
    body = platform.graphql(CROSS, token=customer).json()
    after = (graphql_requests(platform.inventory), graphql_requests(platform.orders))
    assert "errors" not in body, body
    assert len(body["data"]["orders"]["items"]) == 6
    assert all(
        item["product"]["price"] == "4.20"
        for order in body["data"]["orders"]["items"]
        for item in order["items"]
    )
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_identity_reaches_the_subgraphs(platform: Platform) -> None:
    admin = platform.make_token("admin-1", "admin")
    owner = platform.make_token(f"o-{uuid.uuid4().hex[:6]}")
    product = _product(platform, admin)
    order = platform.graphql(
        CREATE_ORDER, {"items": [{"productId": product["id"], "quantity": 1}]}, owner
    ).json()
    order_id = order["data"]["createOrder"]["id"]
    query = "query($id: ID!) { order(id: $id) { id } }"
    assert platform.graphql(query, {"id": order_id}, owner).json()["data"]["order"]
    stranger = platform.make_token(f"s-{uuid.uuid4().hex[:6]}")
    assert platform.graphql(query, {"id": order_id}, stranger).json()["data"]["order"] is None
    anonymous = platform.graphql(query, {"id": order_id}).json()
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_write_is_refused_for_the_caller_before_its_input(platform: Platform) -> None:
    """Through the gateway as at the subgraph: who you are, then what you sent."""
    mutation = 'mutation { createProduct(input: {name: "", price: "0"}) { id } }'
    customer = platform.make_token(f"c-{uuid.uuid4().hex[:6]}")
    admin = platform.make_token("admin-1", "admin")
    for token, code in (
        (None, "UNAUTHENTICATED"),
        (customer, "FORBIDDEN"),
        (admin, "BAD_USER_INPUT"),
    ):
        answer = platform.graphql(mutation, token=token).json()
        assert answer["errors"][0]["extensions"]["code"] == code, answer


def test_bad_and_service_tokens_are_refused_at_the_gateway(platform: Platform) -> None:
    expired = platform.make_token("u1", "customer", ttl=-5)
    response = platform.graphql("{ products { total } }", token=expired)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    service = platform.make_token("order-subgraph", "service")
    refused = [
        platform.graphql("{ products { total } }", token=service),
        httpx.get(
            platform.gateway.base_url + "/products",
            headers={"Authorization": f"Bearer {service}"},
        ),
    ]
    for response in refused:
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json() == {
            "type": "https://errors.orders-inventory.dev/forbidden",
            "title": "Forbidden",
            "status": 403,
            "detail": "service tokens are for calls between services",
            "code": "FORBIDDEN",
        }


def test_the_request_id_is_echoed(platform: Platform) -> None:
    response = httpx.post(
        platform.gateway.base_url + "/graphql",
        json={"query": "{ products { total } }"},
        headers={"X-Request-ID": "req-123"},
    )
    assert response.headers["X-Request-ID"] == "req-123"


def test_the_gateway_is_ready_when_its_subgraphs_are(platform: Platform) -> None:
    assert httpx.get(platform.gateway.base_url + "/readyz").json()["status"] == "ready"
