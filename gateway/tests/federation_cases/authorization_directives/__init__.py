"""The federation authorization directives in subgraph SDL: `@authenticated` on root fields,
`@requiresScopes` on fields (one scope set or another) and on types (`Card`, reached below an
entity jump into billing, and `Invoice`, a union member). The gateway takes what a caller
may not see out of the plan, so the subgraphs' call lists show what was asked."""

from __future__ import annotations

from typing import Any

from ..harness import Case, SdlSubgraph, subgraph_sdl

NAME = "authorization_directives"
ADA = {"id": "u1", "name": "Ada", "email": "ada@example.com"}
BOB = {"id": "u2", "name": "Bob", "email": "bob@example.com"}
INVOICE = {"__typename": "Invoice", "id": "i1"}


def _billing_user(representation: dict[str, Any]) -> dict[str, Any]:
    return {"id": representation["id"], "card": {"last4": f"4{representation['id']}"}}


def build() -> Case:
    accounts = SdlSubgraph(
        "accounts",
        subgraph_sdl(NAME, "accounts"),
        resolvers={
            "Query": {
                "notice": lambda _: "open today",
                "me": lambda _: ADA,
                "users": lambda _: [ADA, BOB],
                "search": lambda _: [{"__typename": "User", **ADA}, INVOICE],
            }
        },
    )
    billing = SdlSubgraph(
        "billing",
        subgraph_sdl(NAME, "billing"),
        resolvers={"Query": {"invoices": lambda _: [{"id": "i1", "total": 30}]}},
        references={
            "User": _billing_user,
            "Invoice": lambda rep: {"id": rep["id"], "total": 30},
        },
    )
    return Case(NAME, {"accounts": accounts, "billing": billing})
