"""Each client's budget of query cost, through the real platform: every GraphQL answer says
what it cost and what is left; over budget, GraphQL and REST answer 429 with Retry-After and
nothing runs. Anonymous clients are their addresses (several loopback addresses are
several clients), X-Forwarded-For counts only from the trusted proxy.

The budget is small and refills slowly (300 points, 0.05 a second) so that a test spends
it in a few requests and time hardly moves it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from .conftest import Platform

BUDGET = 300
TRUSTED_PROXY = "127.0.0.4"
PLATFORM_ENV = {
    "GATEWAY_BUDGET_MAXIMUM": str(BUDGET),
    "GATEWAY_MAX_COST": str(BUDGET),
    "GATEWAY_BUDGET_RESTORE_RATE": "0.05",
    "GATEWAY_TRUSTED_PROXIES": TRUSTED_PROXY,
}
# 1 (the page) + 100 products + 50 (its total, a count)
PAGE_OF_100 = "{ products(limit: 100) { total items { id } } }"
PAGE_COST = 151
CREATE = 'mutation { createProduct(input: {name: "Spent", price: "1.00"}) { id } }'


@pytest.fixture(scope="module")
def gateway_url(platform: Platform) -> str:
    return platform.gateway.base_url


@pytest.fixture
def client_at(gateway_url: str) -> Iterator[Callable[[str], httpx.Client]]:
    """A client calling from a loopback address of its own: another anonymous client."""
    clients: list[httpx.Client] = []

    def at(address: str) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=address)
        client = httpx.Client(base_url=gateway_url, transport=transport, timeout=30)
        clients.append(client)
        return client

    yield at
    for client in clients:
        client.close()


def _graphql(
    client: httpx.Client, query: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return client.post("/graphql", json={"query": query}, headers=headers or {})


def _spend_all(client: httpx.Client, headers: dict[str, str] | None = None) -> None:
    """A page of 100 and one of 98: 151 + 149, the whole budget."""
    for query in (PAGE_OF_100, PAGE_OF_100.replace("100", "98")):
        response = _graphql(client, query, headers)
        assert response.status_code == 200, response.text


def _cost(response: httpx.Response) -> dict[str, Any]:
    cost: dict[str, Any] = response.json()["extensions"]["cost"]
    return cost


def test_every_graphql_answer_carries_its_cost_and_the_budget_left(
    client_at: Callable[[str], httpx.Client],
) -> None:
    client = client_at("127.0.0.2")
    first = _graphql(client, "{ products(limit: 2) { total items { id } } }")
    assert first.status_code == 200
    assert _cost(first) == {
        "requestedQueryCost": 1 + 2 + 50,
        "throttleStatus": {
            "maximumAvailable": BUDGET,
            "currentlyAvailable": BUDGET - 53,
            "restoreRate": 0.05,
        },
    }
    second = _graphql(client, '{ product(id: "nope") { id } }')
    assert _cost(second)["requestedQueryCost"] == 1
    assert _cost(second)["throttleStatus"]["currentlyAvailable"] in (BUDGET - 54, BUDGET - 53)


def test_over_budget_graphql_is_429_with_retry_after_and_rate_limited(
    client_at: Callable[[str], httpx.Client],
) -> None:
    client = client_at("127.0.0.3")
    _spend_all(client)
    refused = _graphql(client, PAGE_OF_100)
    assert refused.status_code == 429
    left = _cost(refused)["throttleStatus"]["currentlyAvailable"]
    assert left < PAGE_COST
    # the seconds until enough is restored, at 0.05 a second
    assert int(refused.headers["Retry-After"]) >= (PAGE_COST - left - 1) * 20
    (error,) = refused.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert _cost(refused)["requestedQueryCost"] == PAGE_COST


def test_over_budget_nothing_runs(
    client_at: Callable[[str], httpx.Client], make_token: Callable[..., str]
) -> None:
    admin = {"Authorization": f"Bearer {make_token(f'admin-{uuid.uuid4().hex}', 'admin')}"}
    client = client_at("127.0.0.2")
    for _ in range(2):  # 2 x 150 = the whole budget
        assert (
            _graphql(client, "{ products(limit: 99) { total items { id } } }", admin).status_code
            == 200
        )
    refused = _graphql(client, CREATE, admin)
    assert refused.status_code == 429
    fresh = {"Authorization": f"Bearer {make_token(f'admin-{uuid.uuid4().hex}', 'admin')}"}
    listing = _graphql(client, '{ products(filter: {q: "Spent"}) { total } }', fresh)
    assert listing.json()["data"]["products"]["total"] == 0


def test_a_signed_in_client_is_its_sub_not_its_address(
    client_at: Callable[[str], httpx.Client], make_token: Callable[..., str]
) -> None:
    token = {"Authorization": f"Bearer {make_token(f'user-{uuid.uuid4().hex}')}"}
    _spend_all(client_at("127.0.0.5"), token)
    assert _graphql(client_at("127.0.0.6"), PAGE_OF_100, token).status_code == 429
    assert _graphql(client_at("127.0.0.6"), "{ __typename }").status_code == 200


def test_over_budget_rest_is_a_429_problem_with_retry_after(
    client_at: Callable[[str], httpx.Client],
) -> None:
    client = client_at("127.0.0.7")
    _spend_all(client)
    refused = client.get("/products", params={"limit": 100})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["code"] == "RATE_LIMITED"


def test_anonymous_clients_at_different_addresses_have_budgets_of_their_own(
    client_at: Callable[[str], httpx.Client],
) -> None:
    _spend_all(client_at("127.0.0.8"))
    assert _graphql(client_at("127.0.0.8"), PAGE_OF_100).status_code == 429
    assert _graphql(client_at("127.0.0.9"), PAGE_OF_100).status_code == 200


def test_x_forwarded_for_names_the_client_only_from_the_trusted_proxy(
    client_at: Callable[[str], httpx.Client],
) -> None:
    proxy = client_at(TRUSTED_PROXY)
    _spend_all(proxy, {"X-Forwarded-For": "203.0.113.1"})
    spent = _graphql(proxy, PAGE_OF_100, {"X-Forwarded-For": "203.0.113.1"})
    assert spent.status_code == 429
    other = _graphql(proxy, PAGE_OF_100, {"X-Forwarded-For": "203.0.113.2"})
    assert other.status_code == 200  # another client behind the same proxy

    direct = client_at("127.0.0.10")  # not a proxy: whatever it forwards is its own word
    _spend_all(direct, {"X-Forwarded-For": "203.0.113.3"})
    spoofed = _graphql(direct, PAGE_OF_100, {"X-Forwarded-For": "203.0.113.4"})
    assert spoofed.status_code == 429
