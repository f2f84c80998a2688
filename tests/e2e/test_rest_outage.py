"""With the inventory away, ordering answers 503 and takes nothing."""

from __future__ import annotations

import httpx

from .conftest import Platform


def test_an_order_while_the_inventory_is_down_is_503(platform: Platform) -> None:
    admin = {"Authorization": f"Bearer {platform.make_token('admin-1', 'admin')}"}
    customer = {"Authorization": f"Bearer {platform.make_token('outage-customer')}"}
    base = platform.gateway.base_url
    product = httpx.post(
        base + "/products", json={"name": "x", "price": "1", "stock": 3}, headers=admin
    ).json()
    platform.inventory.stop()
    response = httpx.post(
        base + "/orders",
        headers=customer,
        timeout=30,
        json={"items": [{"product_id": product["id"], "quantity": 1}]},
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    # told in the gateway's words, not in the order service's
    assert response.json()["detail"] == "a service is unavailable; try again shortly"
    listed = httpx.get(base + "/orders", headers=customer).json()
    assert listed["total"] == 0
    assert httpx.get(base + "/products").status_code == 503
