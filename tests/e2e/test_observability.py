"""One client request, followed across the three services by its request id and its W3C
trace, in the services' JSON logs."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from platform_devkit.processes import ServiceProcess

from .conftest import Platform

CREATE_ORDER = """mutation($items: [OrderLineInput!]!) {
  createOrder(input: {items: $items}) { id } }"""


def _lines(process: ServiceProcess, request_id: str) -> list[dict[str, Any]]:
    assert process.log_path is not None
    entries = []
    for line in Path(process.log_path).read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("request_id") == request_id:
            entries.append(entry)
    return entries


def test_a_request_carries_one_request_id_and_one_trace_through_every_service(
    platform: Platform,
) -> None:
    admin = {"Authorization": f"Bearer {platform.make_token('admin-1', 'admin')}"}
    product = httpx.post(
        platform.gateway.base_url + "/products",
        headers=admin,
        json={"name": "traced", "price": "1", "stock": 5},
    ).json()
    request_id = f"req-{uuid.uuid4().hex}"
    trace_id = secrets.token_hex(16)
    headers = {
        "Authorization": f"Bearer {platform.make_token('tracer')}",
        "X-Request-ID": request_id,
        "traceparent": f"00-{trace_id}-{'1' * 16}-01",
    }
    response = httpx.post(
        platform.gateway.base_url + "/graphql",
        headers=headers,
        json={
            "query": CREATE_ORDER,
            "variables": {"items": [{"productId": product["id"], "quantity": 1}]},
        },
    )
    assert response.status_code == 200 and "errors" not in response.json()
    assert response.headers["X-Request-ID"] == request_id

    time.sleep(0.2)  # the access lines are written as each response completes
    gateway = _lines(platform.gateway, request_id)
    orders = _lines(platform.orders, request_id)
    inventory = _lines(platform.inventory, request_id)
    assert gateway and orders and inventory
    assert any(e.get("path", "").startswith("/internal/reservations/") for e in inventory)
    for entry in gateway + orders + inventory:
        assert entry["trace_id"] == trace_id, entry
        assert {"ts", "level", "service", "message"} <= entry.keys()


def test_metrics_cover_requests_subgraph_fetches_and_database_commands(
    platform: Platform,
) -> None:
    httpx.post(platform.gateway.base_url + "/graphql", json={"query": "{ products { total } }"})
    gateway = httpx.get(platform.gateway.base_url + "/metrics").text
    assert (
        'http_request_duration_seconds_count{method="POST",route="/graphql",'
        'service="gateway"}' in gateway
    )
    assert 'gateway_subgraph_fetch_duration_seconds_count{subgraph="inventory"}' in gateway
    assert "gateway_subgraph_errors_total" in gateway
    inventory = httpx.get(platform.inventory.base_url + "/metrics").text
    assert 'mongodb_command_duration_seconds_count{command="find",outcome="ok"}' in inventory
    assert 'http_requests_total{method="POST",route="/graphql",service="inventory"' in inventory
