"""Progressive @override: `price` moves from legacy to modern for 30 % of requests
(`percent(30)`), `stock` only when the label "stock-from-modern" is switched on. The two
subgraphs answer with different numbers, so a test can tell which one served a field."""

from __future__ import annotations

from ..harness import Case, SdlSubgraph, subgraph_sdl

NAME = "progressive_override"
PRODUCTS = {"p1": "Lamp", "p2": "Desk"}
LEGACY = {"price": 100, "stock": 5}
MODERN = {"price": 200, "stock": 7}


def build() -> Case:
    legacy = SdlSubgraph(
        "legacy",
        subgraph_sdl(NAME, "legacy"),
        resolvers={
            "Query": {"products": lambda _: [{"id": i, "name": n} for i, n in PRODUCTS.items()]},
            "Product": {"price": lambda _: LEGACY["price"], "stock": lambda _: LEGACY["stock"]},
        },
        references={"Product": lambda rep: {"id": rep["id"], "name": PRODUCTS[rep["id"]]}},
    )
    modern = SdlSubgraph(
        "modern",
        subgraph_sdl(NAME, "modern"),
        resolvers={
            "Product": {"price": lambda _: MODERN["price"], "stock": lambda _: MODERN["stock"]}
        },
    )
    return Case(NAME, {"legacy": legacy, "modern": modern})
