"""A shared `Query.node` whose answer no one subgraph can give: in users, `Post.id` is
external; in posts, `User.id` is. `node { id }` must therefore be refused: selecting `node`
again in the other subgraph for the types the first cannot answer would trust both to
return the same object, and here they do not (each answers "never" for the other's ids).
With type conditions written by the client, each part has a subgraph that can answer it."""

from __future__ import annotations

from typing import Any

from ..harness import Case, SdlSubgraph, subgraph_sdl

NAME = "unplannable_node"
USERS = {"u1": "ada"}
POSTS = {"p1": {"title": "Hello", "author": "u1"}}


def _users_node(node_id: str) -> dict[str, Any] | None:
    if node_id in USERS:
        return {"__typename": "User", "id": node_id, "handle": USERS[node_id]}
    if node_id in POSTS:  # what users knows of a post is wrong, but never asked for
        return {"__typename": "Post", "id": "never", "author_id": POSTS[node_id]["author"]}
    return None


def _posts_node(node_id: str) -> dict[str, Any] | None:
    if node_id in POSTS:
        return {"__typename": "Post", "id": node_id, "title": POSTS[node_id]["title"]}
    if node_id in USERS:
        return {"__typename": "User", "id": "never"}
    return None


def build() -> Case:
    users = SdlSubgraph(
        "users",
        subgraph_sdl(NAME, "users"),
        resolvers={
            "Query": {"node": lambda _, id: _users_node(id), "user": lambda _, id: _users_node(id)},
            "Post": {"author": lambda post: _users_node(post["author_id"])},
        },
        references={
            "User": lambda rep: _users_node(rep["id"]),
            "Post": lambda rep: {"id": rep["id"], "author_id": POSTS[rep["id"]]["author"]},
        },
    )
    posts = SdlSubgraph(
        "posts",
        subgraph_sdl(NAME, "posts"),
        resolvers={
            "Query": {"node": lambda _, id: _posts_node(id), "post": lambda _, id: _posts_node(id)},
            "User": {
                "posts": lambda user: [
                    _posts_node(p) for p, row in POSTS.items() if row["author"] == user["id"]
                ]
            },
        },
        references={
            "User": lambda rep: {"id": rep["id"]},
            "Post": lambda rep: _posts_node(rep["id"]),
        },
    )
    return Case(NAME, {"users": users, "posts": posts})
