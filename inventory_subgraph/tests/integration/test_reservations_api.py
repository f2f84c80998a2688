"""The stock reservation API over HTTP, including real concurrent requests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from platform_devkit.processes import ServiceProcess

from .conftest import GraphQL

ProductFactory = Callable[..., dict[str, Any]]
STOCK = "query($id: ID!) { product(id: $id) { stock } }"


def rid() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def client(inventory: ServiceProcess, service_token: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=inventory.base_url,
        timeout=10,
        headers={"Authorization": f"Bearer {service_token}"},
    ) as client:
        yield client


def stock(gql: GraphQL, product_id: str) -> int:
    return int(gql(STOCK, {"id": product_id})["data"]["product"]["stock"])


def reserve_body(*lines: tuple[str, int]) -> dict[str, Any]:
    return {"lines": [{"product_id": p, "quantity": q} for p, q in lines]}


def test_a_reservation_takes_the_units_and_snapshots_name_and_price(
    client: httpx.Client, create_product: ProductFactory, gql: GraphQL
) -> None:
    product = create_product(name="Kettle", price="30.5", stock=5)
    response = client.put(f"/internal/reservations/{rid()}", json=reserve_body((product["id"], 2)))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "reserved"
    assert body["lines"] == [
        {
            "product_id": product["id"],
            "name": "Kettle",
            "unit_price": "30.50",
            "currency": "USD",
            "quantity": 2,
        }
    ]
    assert stock(gql, product["id"]) == 3


def test_a_short_line_takes_nothing_and_names_the_shortage(
    client: httpx.Client, create_product: ProductFactory, gql: GraphQL
) -> None:
    plenty, scarce = create_product(stock=10), create_product(stock=1)
    response = client.put(
        f"/internal/reservations/{rid()}", json=reserve_body((plenty["id"], 2), (scarce["id"], 2))
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "INSUFFICIENT_STOCK"
    assert problem["shortages"] == [{"product_id": scarce["id"], "requested": 2, "available": 1}]
    assert (stock(gql, plenty["id"]), stock(gql, scarce["id"])) == (10, 1)


def test_unknown_and_deleted_products_are_named(
    client: httpx.Client, gql: GraphQL, create_product: ProductFactory, admin_token: str
) -> None:
    deleted = create_product(stock=3)
    gql("mutation($id: ID!) { deleteProduct(id: $id) }", {"id": deleted["id"]}, admin_token)
    unknown = "0123456789abcdef01234567"
    response = client.put(
        f"/internal/reservations/{rid()}", json=reserve_body((deleted["id"], 1), (unknown, 1))
    )
    assert response.status_code == 404
    assert sorted(response.json()["unknown_products"]) == sorted([deleted["id"], unknown])


@pytest.mark.parametrize(
    "body",
    [
        {"lines": []},
        {"lines": [{"product_id": "0123456789abcdef01234567", "quantity": 0}]},
        {"lines": [{"product_id": "0123456789abcdef01234567", "quantity": "2"}]},
        {"lines": [{"product_id": {"$ne": None}, "quantity": 1}]},
        {"lines": "everything"},
    ],
)
def test_bad_lines_are_422(client: httpx.Client, body: dict[str, Any]) -> None:
    response = client.put(f"/internal/reservations/{rid()}", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_a_bad_reservation_id_is_422(client: httpx.Client, create_product: ProductFactory) -> None:
    product = create_product(stock=1)
    response = client.put("/internal/reservations/bad%20id", json=reserve_body((product["id"], 1)))
    assert response.status_code == 422


def test_repeats_answer_the_same_and_take_stock_once(
    client: httpx.Client, gql: GraphQL, create_product: ProductFactory
) -> None:
    product = create_product(stock=5)
    reservation = rid()
    first = client.put(
        f"/internal/reservations/{reservation}", json=reserve_body((product["id"], 2))
    )
    again = client.put(
        f"/internal/reservations/{reservation}", json=reserve_body((product["id"], 2))
    )
    assert again.json() == first.json()
    assert stock(gql, product["id"]) == 3
    other = client.put(
        f"/internal/reservations/{reservation}", json=reserve_body((product["id"], 1))
    )
    assert other.status_code == 409


def test_release_commit_and_get(
    client: httpx.Client, gql: GraphQL, create_product: ProductFactory
) -> None:
    product = create_product(stock=5)
    released, committed = rid(), rid()
    client.put(f"/internal/reservations/{released}", json=reserve_body((product["id"], 2)))
    client.put(f"/internal/reservations/{committed}", json=reserve_body((product["id"], 1)))
    assert stock(gql, product["id"]) == 2
    for _ in range(2):
        response = client.post(f"/internal/reservations/{released}/release")
        assert response.json()["status"] == "released"
    assert stock(gql, product["id"]) == 4
    assert client.post(f"/internal/reservations/{committed}/commit").json()["status"] == (
        "committed"
    )
    assert client.post(f"/internal/reservations/{committed}/release").status_code == 409
    assert client.post(f"/internal/reservations/{released}/commit").status_code == 409
    assert client.get(f"/internal/reservations/{committed}").json()["status"] == "committed"
    assert client.get(f"/internal/reservations/{rid()}").status_code == 404
    assert client.post(f"/internal/reservations/{rid()}/commit").status_code == 404
    assert stock(gql, product["id"]) == 4


def test_a_release_before_the_reserve_arrives_blocks_it(
    client: httpx.Client, gql: GraphQL, create_product: ProductFactory
) -> None:
    product = create_product(stock=5)
    late = rid()
    assert client.post(f"/internal/reservations/{late}/release").json()["status"] == "released"
    response = client.put(f"/internal/reservations/{late}", json=reserve_body((product["id"], 1)))
    assert response.status_code == 409
    assert stock(gql, product["id"]) == 5


@pytest.mark.parametrize("role", [None, "customer", "admin"])
def test_only_the_service_role_may_reserve(
    inventory: ServiceProcess,
    role: str | None,
    make_token: Callable[..., str],
    create_product: ProductFactory,
    gql: GraphQL,
) -> None:
    product = create_product(stock=5)
    headers = {"Authorization": f"Bearer {make_token('u1', role)}"} if role else {}
    response = httpx.put(
        f"{inventory.base_url}/internal/reservations/{rid()}",
        json=reserve_body((product["id"], 1)),
        headers=headers,
    )
    assert response.status_code == (401 if role is None else 403)
    assert stock(gql, product["id"]) == 5


@pytest.mark.parametrize("role", [None, "customer", "admin"])
def test_identity_and_role_are_checked_before_the_body(
    inventory: ServiceProcess, role: str | None, make_token: Callable[..., str]
) -> None:
    headers = {"Authorization": f"Bearer {make_token('u1', role)}"} if role else {}
    response = httpx.put(
        f"{inventory.base_url}/internal/reservations/not-an-id",
        json={"lines": [{"product_id": 7, "quantity": "many"}], "extra": True},
        headers=headers,
    )
    assert response.status_code == (401 if role is None else 403)


async def _race(
    inventory: ServiceProcess, token: str, requests: list[tuple[str, str, dict[str, Any] | None]]
) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(requests))
    async with httpx.AsyncClient(
        base_url=inventory.base_url,
        timeout=30,
        limits=limits,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        return await asyncio.gather(
            *(client.request(method, url, json=body) for method, url, body in requests)
        )


async def test_fifty_reservations_of_one_unit_against_ten_take_exactly_ten(
    inventory: ServiceProcess,
    service_token: str,
    create_product: ProductFactory,
    gql: GraphQL,
) -> None:
    product = create_product(stock=10)
    responses = await _race(
        inventory,
        service_token,
        [
            ("PUT", f"/internal/reservations/{rid()}", reserve_body((product["id"], 1)))
            for _ in range(50)
        ],
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 10
    assert statuses.count(409) == 40
    assert stock(gql, product["id"]) == 0


async def test_twenty_reservations_of_three_against_ten_succeed_three_times(
    inventory: ServiceProcess,
    service_token: str,
    create_product: ProductFactory,
    gql: GraphQL,
) -> None:
    product = create_product(stock=10)
    responses = await _race(
        inventory,
        service_token,
        [
            ("PUT", f"/internal/reservations/{rid()}", reserve_body((product["id"], 3)))
            for _ in range(20)
        ],
    )
    assert [r.status_code for r in responses].count(200) == 3
    assert stock(gql, product["id"]) == 1


async def test_concurrent_repeats_of_one_reservation_take_stock_once(
    inventory: ServiceProcess,
    service_token: str,
    create_product: ProductFactory,
    gql: GraphQL,
) -> None:
    first, second = create_product(stock=10), create_product(stock=10)
    reservation = rid()
    body = reserve_body((first["id"], 2), (second["id"], 3))
    responses = await _race(
        inventory, service_token, [("PUT", f"/internal/reservations/{reservation}", body)] * 20
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1
    assert (stock(gql, first["id"]), stock(gql, second["id"])) == (8, 7)


async def test_concurrent_releases_give_the_units_back_once(
    inventory: ServiceProcess,
    service_token: str,
    create_product: ProductFactory,
    gql: GraphQL,
    client: httpx.Client,
) -> None:
    product = create_product(stock=10)
    reservation = rid()
    client.put(f"/internal/reservations/{reservation}", json=reserve_body((product["id"], 4)))
    responses = await _race(
        inventory,
        service_token,
        [("POST", f"/internal/reservations/{reservation}/release", None)] * 10,
    )
    assert {r.json()["status"] for r in responses} == {"released"}
    assert stock(gql, product["id"]) == 10


async def test_multi_line_reservations_racing_are_all_or_nothing(
    inventory: ServiceProcess,
    service_token: str,
    create_product: ProductFactory,
    gql: GraphQL,
) -> None:
    a, b = create_product(stock=10), create_product(stock=4)
    responses = await _race(
        inventory,
        service_token,
        [
            ("PUT", f"/internal/reservations/{rid()}", reserve_body((a["id"], 1), (b["id"], 1)))
            for _ in range(12)
        ],
    )
    succeeded = [r.status_code for r in responses].count(200)
    assert succeeded == 4
    assert (stock(gql, a["id"]), stock(gql, b["id"])) == (10 - succeeded, 0)
