"""@interfaceObject where the interface has no implementation anywhere (`Node`), and keys
that are not resolvable (`resolvable: false`): bakery answers `someNode { id note }` alone,
since nothing asked needs the concrete type; `anyNode { note }` cannot be planned (`note`
is only reachable through a key no subgraph resolves); `featured` is a Product that catalog
knows only as an interface object, whose concrete type bakery (the interface's owner) tells."""

from __future__ import annotations

from ..harness import Case, SdlSubgraph, subgraph_sdl

NAME = "interface_objects_unresolvable"
BREAD = {"__typename": "Bread", "id": "p1", "name": "Rye"}


def _not_resolvable(_: dict[str, object]) -> None:
    raise AssertionError("the gateway called an entity it may not call")


def build() -> Case:
    catalog = SdlSubgraph(
        "catalog",
        subgraph_sdl(NAME, "catalog"),
        resolvers={
            "Query": {
                "anyNode": lambda _: {"__typename": "Node", "id": "n1"},
                "featured": lambda _: {"__typename": "Product", "id": "p1"},
            }
        },
        references={"Node": _not_resolvable},
    )
    bakery = SdlSubgraph(
        "bakery",
        subgraph_sdl(NAME, "bakery"),
        resolvers={
            "Query": {"someNode": lambda _: {"__typename": "Node", "id": "n1", "note": "baked"}}
        },
        references={
            "Node": _not_resolvable,
            "Product": lambda rep: BREAD if rep["id"] == "p1" else None,
            "Bread": lambda rep: BREAD if rep["id"] == "p1" else None,
        },
    )
    return Case(NAME, {"catalog": catalog, "bakery": bakery})
