"""@defer: a ledger subgraph answers shipments and their parcels, a catalog subgraph the
articles in them. A deferred fragment on a shipment that reaches the catalog must not hold
up the shipment's own fields: the planner fetches it apart, after the first payload.
Article `broken` has no title in the catalog (an error and a null in a non-null field) for
errors that stay in their deferred part."""

from __future__ import annotations

from typing import Any

from ..harness import Case, SdlSubgraph, subgraph_sdl

NAME = "deferred_fragments"
SHIPMENTS: dict[str, dict[str, Any]] = {
    "s1": {
        "id": "s1",
        "state": "SENT",
        "note": "fragile",
        "parcels": [
            {"weight": 2, "article": {"sku": "a1"}},
            {"weight": 5, "article": {"sku": "a2"}},
        ],
    },
    "s2": {
        "id": "s2",
        "state": "PACKED",
        "note": None,
        "parcels": [{"weight": 1, "article": {"sku": "broken"}}],
    },
}
ARTICLES = {
    "a1": {"sku": "a1", "title": "Lamp", "maker": {"name": "Lumen", "country": "SE"}},
    "a2": {"sku": "a2", "title": "Desk", "maker": None},
}


def _article(representation: dict[str, Any]) -> dict[str, Any]:
    sku = representation["sku"]
    if sku not in ARTICLES:
        raise LookupError(f"no article {sku}")
    return ARTICLES[sku]


def build() -> Case:
    ledger = SdlSubgraph(
        "ledger",
        subgraph_sdl(NAME, "ledger"),
        resolvers={
            "Query": {
                "shipment": lambda _, id: SHIPMENTS.get(id),
                "shipments": lambda _: list(SHIPMENTS.values()),
            }
        },
        references={"Shipment": lambda rep: SHIPMENTS.get(rep["id"])},
    )
    catalog = SdlSubgraph(
        "catalog", subgraph_sdl(NAME, "catalog"), references={"Article": _article}
    )
    return Case(NAME, {"ledger": ledger, "catalog": catalog})
