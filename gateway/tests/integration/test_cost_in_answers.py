"""`extensions.cost` is on every answer (the contract) unless GATEWAY_COST_IN_ANSWERS turns
it off, for a client that compares whole answers with expected ones (the federation
benchmark's checker). Budgets apply either way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from platform_devkit.processes import ServiceProcess

from .conftest import World, start_gateway

QUERY = "{ me { name } }"


@pytest.fixture(params=["false", "true"], ids=["own-answers", "deduplicated"])
def gateway_without_cost(
    request: pytest.FixtureRequest, world: World, tmp_path: Path, service_env: dict[str, str]
) -> Iterator[ServiceProcess]:
    gateway = start_gateway(
        world.supergraph,
        service_env,
        tmp_path,
        GATEWAY_COST_IN_ANSWERS="false",
        GATEWAY_DEDUPLICATE_INBOUND_REQUESTS=request.param,
        GATEWAY_MAX_COST="50",
        GATEWAY_BUDGET_MAXIMUM="50",
        GATEWAY_BUDGET_RESTORE_RATE="0.001",
        GATEWAY_BUDGET_HOLD_REFUSALS_SECONDS="0",
    )
    yield gateway
    gateway.stop()


def test_answers_carry_their_cost_by_default(world: World) -> None:
    body = world.query(QUERY).json()
    assert body["data"] == {"me": {"name": "Ada"}}
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1


def test_answers_are_the_data_alone_when_the_cost_is_not_shown(
    gateway_without_cost: ServiceProcess,
) -> None:
    url = gateway_without_cost.base_url + "/graphql"
    response = httpx.post(url, json={"query": QUERY})
    assert response.status_code == 200
    assert response.content == b'{"data":{"me":{"name":"Ada"}}}'


def test_the_budget_still_applies_when_the_cost_is_not_shown(
    gateway_without_cost: ServiceProcess,
) -> None:
    url = gateway_without_cost.base_url + "/graphql"
    statuses = [httpx.post(url, json={"query": QUERY}).status_code for _ in range(60)]
    # 50 points, 1 a request (and the new document's preparation paid once): then refused
    served = statuses.index(429)
    assert 40 <= served <= 50
    assert statuses == [200] * served + [429] * (60 - served)
    refused = httpx.post(url, json={"query": QUERY})
    assert refused.status_code == 429
    assert refused.json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0
