"""A requirement that leaves a subgraph and comes back: levels' `forBeginners` needs the
post's `writer { years }`, where `writer` is levels' own field and `years` is posts'. So
levels is called twice: first for the writer, then (after posts gives the years) for
`forBeginners`; posts' `forExperts` needs that answer in turn."""

from __future__ import annotations

from typing import Any

from ..harness import Case, SdlSubgraph, subgraph_sdl

NAME = "requires_round_trip"
POSTS = {"p1": "w1", "p2": "w2"}
YEARS = {"w1": 2, "w2": 20}


def _post_with_writer(post_id: str, writer: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": post_id, "writer": {"id": POSTS[post_id], **(writer or {})}}


def build() -> Case:
    posts = SdlSubgraph(
        "posts",
        subgraph_sdl(NAME, "posts"),
        resolvers={
            "Query": {"feed": lambda _: [{"id": p} for p in POSTS]},
            "Post": {"forExperts": lambda post: not post["forBeginners"]},
        },
        references={"Writer": lambda rep: {"id": rep["id"], "years": YEARS[rep["id"]]}},
    )
    levels = SdlSubgraph(
        "levels",
        subgraph_sdl(NAME, "levels"),
        resolvers={"Post": {"forBeginners": lambda post: post["writer"]["years"] < 10}},
        references={"Post": lambda rep: _post_with_writer(rep["id"], rep.get("writer"))},
    )
    return Case(NAME, {"posts": posts, "levels": levels})
