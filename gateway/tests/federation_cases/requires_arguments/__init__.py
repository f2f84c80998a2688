"""Two @requires of one field with different arguments: `costInDollars` needs
`price(currency: "USD")`, `costInEuros` needs `price(currency: "EUR")`. They are two values,
so the catalog is asked for both (under two aliases) and each requiring field gets its own
representation; merged into one, the euro cost would be computed from the dollar price."""

from __future__ import annotations

from typing import Any

from ..harness import Case, SdlSubgraph, subgraph_sdl

NAME = "requires_arguments"
ITEMS = {
    "i1": {"name": "Kettle", "price": 10, "weight": 2, "average": 12},
    "i2": {"name": "Anvil", "price": 30, "weight": 50, "average": 20},
}
RATES = {"USD": 1, "EUR": 3}


def _price(item: dict[str, Any], currency: str) -> int:
    return int(ITEMS[item["id"]]["price"] * RATES[currency])


def _catalog_item(item_id: str) -> dict[str, Any]:
    row = ITEMS[item_id]
    return {
        "id": item_id,
        "name": row["name"],
        "weight": row["weight"],
        "category": {"id": item_id},
    }


def build() -> Case:
    catalog = SdlSubgraph(
        "catalog",
        subgraph_sdl(NAME, "catalog"),
        resolvers={
            "Query": {"items": lambda _: [_catalog_item(i) for i in ITEMS]},
            "Item": {"price": _price},
            "Category": {
                "averagePrice": lambda c, currency: ITEMS[c["id"]]["average"] * RATES[currency]
            },
        },
        references={"Item": lambda rep: _catalog_item(rep["id"])},
    )
    shipping = SdlSubgraph(
        "shipping",
        subgraph_sdl(NAME, "shipping"),
        resolvers={
            "Item": {
                "costInDollars": lambda item: item["price"] * item["weight"],
                "costInEuros": lambda item: item["price"] * item["weight"],
                "dearerThanItsCategory": lambda item: (
                    item["price"] > item["category"]["averagePrice"]
                ),
            }
        },
    )
    return Case(NAME, {"catalog": catalog, "shipping": shipping})
