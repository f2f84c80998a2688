"""A union whose members differ by subgraph (north: Plain | NorthOnly, south: Plain |
SouthOnly), below shareable fields: the shape of the federation audit's
`partial-union-complex` suite.

A subgraph may only be asked for the members it knows, and a position that several
subgraphs may answer holds only the members all of them know. `Board.panel` and
`Panel.notices` are @shareable and `Board` is an entity both subgraphs resolve, so
`northBoard { panel { notices } }` may be answered by north or by south: @shareable promises
the same value from either, and south can never send a `NorthOnly`. So `... on NorthOnly`
cannot match there and is not fetched: the `NorthOnly` that north sends anyway keeps its
`__typename`, with `north: null` (a nullable field without a value). This case used to
expect `"from north"`, the reading of the audit's first draft; the merged audit expects
null, and so do Apollo's query planner (a type condition one of the candidate paths cannot
take ends the branch: its plan for `rootA { wrapper { actions ... } }` fetches only
`__typename` and `... on Common`), Apollo Router and Hive Router. An answer must not depend
on which of two shareable subgraphs the planner picked. `southPanel` exists only in south,
so below it south alone decides: `SouthOnly` is fetched there."""

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
