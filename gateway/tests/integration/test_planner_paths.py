"""The planner where no single jump reaches a field: through the root again, through a
third subgraph for a key, through a requirement with a type condition, and around
selections a subgraph would reject as conflicting. Runs against the `library` federation
(fed_fixtures.library), every subgraph a real process."""

from __future__ import annotations

from graphql import parse

from gateway.federation.planner import plan_operation
from gateway.federation.supergraph import Supergraph

from .conftest import World


def _describe(world: World, query: str) -> str:
    document = parse(query)
    operation = document.definitions[0]
    supergraph = Supergraph.parse(world.supergraph)
    return plan_operation(supergraph, document, operation).describe()  # type: ignore[arg-type]


def test_a_shared_root_object_is_completed_from_the_root_of_each_subgraph(
    library: World,
) -> None:
    library.reset_counts()
    data = library.data("{ shelf { label onLoan books { title } } }")
    assert data == {
        "shelf": {
            "label": "New arrivals",
            "onLoan": 2,
            "books": [{"title": "Dune"}, {"title": "Emma"}, {"title": "Lost Scroll"}],
        }
    }
    counts = library.counts()
    assert (counts["catalog"], counts["loans"]) == (1, 1)
    assert (counts["registry"], counts["ratings"]) == (0, 0)


def test_a_key_only_another_subgraph_knows_is_fetched_there_first(library: World) -> None:
    library.reset_counts()
    data = library.data("{ shelf { books { title stars } } }")
    assert data["shelf"]["books"] == [
        {"title": "Dune", "stars": 5},
        {"title": "Emma", "stars": 3},
        {"title": "Lost Scroll", "stars": None},  # no isbn: no entity to ask ratings for
    ]
    assert library.counts() == {"catalog": 1, "loans": 0, "registry": 1, "ratings": 1}
    plan = _describe(library, "{ shelf { books { stars } } }")
    assert plan.index("Fetch(REGISTRY") < plan.index("Fetch(RATINGS")


def test_a_requirement_with_a_type_condition_sends_only_what_applies(library: World) -> None:
    library.reset_counts()
    data = library.data("{ shelf { books { title readingMinutes } } }")
    assert data["shelf"]["books"][:2] == [
        {"title": "Dune", "readingMinutes": 1200},  # paper: pages only
        {"title": "Emma", "readingMinutes": 604},  # ebook: pages and megabytes
    ]
    plan = _describe(library, "{ shelf { books { readingMinutes } } }")
    assert "... on Ebook { megabytes }" in plan


def test_sibling_type_conditions_with_conflicting_field_types_are_kept_apart(
    library: World,
) -> None:
    response = library.query(
        "{ shelf { books { format { pages ... on Paper { code } ... on Ebook { code } } } } }"
    )
    body = response.json()
    assert "errors" not in body, body
    formats = [book["format"] for book in body["data"]["shelf"]["books"]]
    assert formats == [
        {"pages": 600, "code": "P-1"},
        {"pages": 300, "code": None},
        {"pages": 10, "code": "P-3"},
    ]


def test_a_fragment_on_a_type_a_subgraph_never_returns_there_is_left_out(
    library: World,
) -> None:
    plan = _describe(
        library,
        "{ shelf { books { format { ... on Ebook { megabytes } ... on Format { pages } } } } }",
    )
    catalog_fetch = plan.splitlines()[2]
    assert "... on Ebook { megabytes }" in catalog_fetch
    data = library.data(
        "{ shelf { books { format { ... on Ebook { megabytes } ... on Format { pages } } } } }"
    )
    assert data["shelf"]["books"][1]["format"] == {"megabytes": 4, "pages": 300}
