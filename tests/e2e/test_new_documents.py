"""A flood of documents the gateway has never seen, through the real platform (issue 18:
twenty addresses sending distinct 30-alias queries, each refused for its cost, kept the
gateway busy parsing them and took the catalog to 0%). Preparing a new document is paid
for by its client; a client whose budget is gone gets a 429, held a moment, before anything
of its request is parsed, and other clients' requests still run.

The price here is 20 points a millisecond (a 30-alias document takes 5 to 50 ms to refuse:
100 to 1,000 of the budget's 2,000 points), and the budget hardly refills."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from .conftest import Platform

PLATFORM_ENV = {
    "GATEWAY_PREPARATION_POINTS_PER_MS": "20",
    "GATEWAY_BUDGET_RESTORE_RATE": "0.05",
    "GATEWAY_BUDGET_HOLD_REFUSALS_SECONDS": "0.5",
}


def _flood_document(number: int) -> str:
    """30 aliases, offsets by `number`: a document nobody sent before, over the cost limit."""
    fields = " ".join(
        f"a{n}: products(limit: 1, offset: {number * 30 + n}) {{ total }}" for n in range(30)
    )
    return "{ " + fields + " }"


@pytest.fixture
def client_at(platform: Platform) -> Iterator[Callable[[str], httpx.Client]]:
    clients: list[httpx.Client] = []

    def at(address: str) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=address)
        client = httpx.Client(base_url=platform.gateway.base_url, transport=transport, timeout=30)
        clients.append(client)
        return client

    yield at
    for client in clients:
        client.close()


def test_new_documents_refused_for_their_cost_still_empty_the_senders_budget(
    client_at: Callable[[str], httpx.Client],
) -> None:
    flooder = client_at("127.0.0.5")
    statuses = []
    for number in range(40):
        response = flooder.post("/graphql", json={"query": _flood_document(number)})
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    # over the cost limit: refused, but parsed to know it, and paid for until nothing is left
    assert statuses[-1] == 429, statuses
    assert statuses[:-1] and set(statuses[:-1]) == {400}, statuses
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert int(response.headers["Retry-After"]) >= 1


def test_an_empty_budget_is_refused_before_parsing_and_the_refusal_is_held(
    client_at: Callable[[str], httpx.Client],
) -> None:
    flooder = client_at("127.0.0.6")
    for number in range(40):
        if (
            flooder.post("/graphql", json={"query": _flood_document(100 + number)}).status_code
            == 429
        ):
            break
    started = time.monotonic()
    garbage = flooder.post("/graphql", json={"query": "{ this is not GraphQL"})
    assert garbage.status_code == 429  # not a syntax error: nothing was parsed
    assert time.monotonic() - started >= 0.5  # GATEWAY_BUDGET_HOLD_REFUSALS_SECONDS
    rest = flooder.get("/products")
    assert rest.status_code == 429
    assert rest.headers["content-type"].startswith("application/problem+json")


def test_other_clients_are_served_while_one_client_is_refused(
    client_at: Callable[[str], httpx.Client],
) -> None:
    flooder = client_at("127.0.0.7")
    for number in range(40):
        if (
            flooder.post("/graphql", json={"query": _flood_document(200 + number)}).status_code
            == 429
        ):
            break
    other = client_at("127.0.0.8")
    listing = other.get("/products", params={"limit": 5})
    assert listing.status_code == 200, listing.text
    known = other.post("/graphql", json={"query": "{ products(limit: 1) { items { id } } }"})
    assert known.status_code == 200, known.text
