"""A union whose members differ by subgraph (north: Plain | NorthOnly, south: Plain |
SouthOnly), below shareable fields. A subgraph may only be asked for the members it knows,
so which members a selection keeps depends on the subgraph the path reaches: the root's
subgraph, or the one an entity jump leads to (`southPanel` exists only in south)."""

from __future__ import annotations

from typing import Any

from ..harness import Case, SdlSubgraph, subgraph_sdl

NAME = "partial_unions"
PLAIN = {"__typename": "Plain", "text": "plain"}
NORTH = {"__typename": "NorthOnly", "north": "from north"}
SOUTH = {"__typename": "SouthOnly", "south": "from south"}
BOARD = "board-1"


def _board(notices: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": BOARD, "panel": {"notices": notices}, "southPanel": {"notices": notices}}


def build() -> Case:
    north = SdlSubgraph(
        "north",
        subgraph_sdl(NAME, "north"),
        resolvers={
            "Query": {
                "northBoard": lambda _: _board([PLAIN, NORTH]),
                "anyBoard": lambda _: _board([PLAIN]),
            }
        },
        references={"Board": lambda rep: _board([PLAIN, NORTH])},
    )
    south = SdlSubgraph(
        "south",
        subgraph_sdl(NAME, "south"),
        resolvers={
            "Query": {
                "southBoard": lambda _: _board([PLAIN, SOUTH]),
                "anyBoard": lambda _: _board([PLAIN]),
            }
        },
        references={"Board": lambda rep: _board([PLAIN, SOUTH])},
    )
    return Case(NAME, {"north": north, "south": south})
