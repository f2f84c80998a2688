"""A field of a type that is an entity nowhere it lives: `Category.blurb` exists only in
blurbs, where Category has no key, so no entity call can reach it. The way in is back
through the parent entity: blurbs has `Product @key(id)`, so the gateway asks blurbs for
`product.category.blurb` by the product's key, beside taxonomy (the category's `id`) and
labels (its `label`, by that id)."""

from __future__ import annotations

from ..harness import Case, SdlSubgraph, subgraph_sdl

NAME = "parent_entity_jump"
CATEGORY_OF = {"1": "c3", "2": "c4"}


def build() -> Case:
    storefront = SdlSubgraph(
        "storefront",
        subgraph_sdl(NAME, "storefront"),
        resolvers={"Query": {"productById": lambda _, id: {"id": id, "name": f"Product#{id}"}}},
    )
    blurbs = SdlSubgraph(
        "blurbs",
        subgraph_sdl(NAME, "blurbs"),
        references={
            "Product": lambda rep: {
                "id": rep["id"],
                "category": {"blurb": f"About Product#{rep['id']}"},
            }
        },
    )
    taxonomy = SdlSubgraph(
        "taxonomy",
        subgraph_sdl(NAME, "taxonomy"),
        references={
            "Product": lambda rep: {"id": rep["id"], "category": {"id": CATEGORY_OF[rep["id"]]}}
        },
    )
    labels = SdlSubgraph(
        "labels",
        subgraph_sdl(NAME, "labels"),
        references={"Category": lambda rep: {"id": rep["id"], "label": f"Category {rep['id']}"}},
    )
    return Case(
        NAME,
        {"storefront": storefront, "blurbs": blurbs, "taxonomy": taxonomy, "labels": labels},
    )
