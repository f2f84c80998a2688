"""Every database operation of a request is bounded by the request's deadline: the service's
own, or the shorter one its caller sends (X-Request-Timeout-Ms). Work past it stops and is
a SERVICE_UNAVAILABLE, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from platform_devkit.processes import ServiceProcess

from .conftest import error_code

QUERY = "{ products(limit: 5) { total items { sku } } }"


def _products(inventory: ServiceProcess, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        inventory.base_url + "/graphql", json={"query": QUERY}, headers=headers, timeout=10
    )


def test_a_caller_that_waits_no_longer_than_the_work_takes_gets_service_unavailable(
    inventory: ServiceProcess, create_product: Callable[..., dict[str, Any]]
) -> None:
    create_product()

    hurried = _products(inventory, {"X-Request-Timeout-Ms": "1"})
    assert hurried.status_code == 200
    assert hurried.json()["data"] is None
    assert error_code(hurried.json()) == "SERVICE_UNAVAILABLE"

    patient = _products(inventory, {"X-Request-Timeout-Ms": "4000"})
    assert patient.json()["data"]["products"]["total"] >= 1
    malformed = _products(inventory, {"X-Request-Timeout-Ms": "-1"})  # ignored: ours applies
    assert malformed.json()["data"]["products"]["total"] >= 1
