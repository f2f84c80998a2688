"""The demo catalog loads through the gateway, and loading it twice changes nothing."""

from __future__ import annotations

import json

from seed import CATALOG, seed

from .conftest import Platform


def test_the_demo_catalog_loads_once(platform: Platform) -> None:
    admin = platform.make_token("seed", "admin")
    url = platform.gateway.base_url + "/graphql"
    expected = len(json.loads(CATALOG.read_text()))
    assert seed(url, admin) == (expected, 0)
    assert seed(url, admin) == (0, expected)
    body = platform.graphql('{ products(filter: {category: "books"}) { total } }').json()
    assert body["data"]["products"]["total"] == 5
