"""Federation 2 features through a real gateway over three tiny subgraphs."""

from __future__ import annotations

from .conftest import NAMES, World


def only(**counts: int) -> dict[str, int]:
    """Request counts per subgraph: the ones named, zero for every other."""
    return {name: counts.get(name, 0) for name in NAMES}


def test_a_root_field_and_an_entity_join(world: World) -> None:
    data = world.data("{ topProducts(first: 2) { upc name reviews { body } } }")
    assert data == {
        "topProducts": [
            {"upc": "p1", "name": "Table", "reviews": [{"body": "Sturdy"}, {"body": "Wobbly"}]},
            {"upc": "p2", "name": "Chair", "reviews": []},
        ]
    }


def test_a_list_of_entities_costs_one_request_per_subgraph(world: World) -> None:
    world.reset_counts()
    world.data("{ topProducts { name reviews { body author { name } } } }")
    assert world.counts() == only(products=1, reviews=1, accounts=1)


def test_requires_sends_the_required_fields(world: World) -> None:
    data = world.data("{ topProducts { upc shippingEstimate } }")
    assert data["topProducts"] == [
        {"upc": "p1", "shippingEstimate": 0},
        {"upc": "p2", "shippingEstimate": 6},
        {"upc": "p3", "shippingEstimate": 2},
    ]


def test_provides_reads_the_provided_field_without_another_fetch(world: World) -> None:
    world.reset_counts()
    data = world.data("{ latestReviews { author { username } } }")
    assert data["latestReviews"][0]["author"]["username"] == "@ada (provided)"
    assert world.counts()["accounts"] == 0


def test_a_field_not_provided_goes_to_its_owner(world: World) -> None:
    data = world.data("{ latestReviews { author { name } } }")
    assert [r["author"]["name"] for r in data["latestReviews"]] == ["Ada", "Alan", "Ada"]


def test_override_routes_the_field_to_the_overriding_subgraph(world: World) -> None:
    assert world.data("{ me { nickname } }") == {"me": {"nickname": "from-reviews"}}


def test_shareable_fields_stay_in_the_current_subgraph(world: World) -> None:
    world.reset_counts()
    assert world.data("{ users { username } }")["users"][0] == {"username": "@ada"}
    assert world.counts() == only(accounts=1)


def test_inaccessible_fields_are_absent_and_refused(world: World) -> None:
    world.reset_counts()
    response = world.query("{ topProducts { secret } }")
    assert response.status_code == 400
    assert "secret" in response.json()["errors"][0]["message"]
    fields = world.data('{ __type(name: "Product") { fields { name } } }')
    assert "secret" not in {f["name"] for f in fields["__type"]["fields"]}
    assert world.counts() == only()


def test_an_interface_across_subgraphs(world: World) -> None:
    data = world.data("{ media { __typename title ... on Book { reviewCount } } }")
    assert data["media"] == [
        {"__typename": "Book", "title": "Dune", "reviewCount": 7},
        {"__typename": "Book", "title": "Emma", "reviewCount": 0},
        {"__typename": "Movie", "title": "Alien"},
    ]


def test_a_union_with_fragments_named_and_inline(world: World) -> None:
    query = """
      query Search { search { __typename ...P ... on Book { title reviewCount } } }
      fragment P on Product { name reviews { body } }
    """
    data = world.data(query)
    assert data["search"] == [
        {"__typename": "Product", "name": "Chair", "reviews": []},
        {"__typename": "Book", "title": "Dune", "reviewCount": 7},
        {"__typename": "Movie"},
    ]


def test_aliases_and_arguments(world: World) -> None:
    data = world.data(
        '{ a: product(upc: "p1") { n: name } b: product(upc: "p3") '
        "{ n: name shipping: shippingEstimate } }"
    )
    assert data == {"a": {"n": "Table"}, "b": {"n": "Lamp", "shipping": 2}}


def test_variables_defaults_skip_and_include(world: World) -> None:
    query = """query($first: Int = 1, $withReviews: Boolean!, $noName: Boolean = true) {
      topProducts(first: $first) { upc name @skip(if: $noName)
                                   reviews @include(if: $withReviews) { body } } }"""
    assert world.data(query, {"withReviews": False}) == {"topProducts": [{"upc": "p1"}]}
    assert world.data(query, {"withReviews": True, "first": 1, "noName": False}) == {
        "topProducts": [
            {"upc": "p1", "name": "Table", "reviews": [{"body": "Sturdy"}, {"body": "Wobbly"}]}
        ]
    }


def test_typename_and_introspection(world: World) -> None:
    data = world.data("{ __typename me { __typename id } __schema { queryType { name } } }")
    assert data == {
        "__typename": "Query",
        "me": {"__typename": "User", "id": "1"},
        "__schema": {"queryType": {"name": "Query"}},
    }


def test_mutations_run_in_order(world: World) -> None:
    data = world.data(
        'mutation { first: addReview(body: "x") { body } '
        'second: addReview(body: "y") { body author { name } } }'
    )
    first = int(data["first"]["body"].split(":")[0])
    assert data["second"]["body"] == f"{first + 1}:y"
    assert data["second"]["author"] == {"name": "Ada"}


def test_an_invalid_operation_gets_spec_errors_and_reaches_no_subgraph(world: World) -> None:
    world.reset_counts()
    for query in [
        "{ nope }",
        "{ topProducts { upc",
        "query($x: Int) { me { id } }",
        "{ product { name } }",
    ]:
        response = world.query(query)
        assert response.status_code == 400, query
        assert response.json()["errors"][0]["message"]
    assert world.counts() == only()


def test_operation_name_selects_the_operation(world: World) -> None:
    document = "query A { me { name } } query B { me { id } }"
    assert world.query(document, operation_name="B").json()["data"] == {"me": {"id": "1"}}
    assert world.query(document).status_code == 400


def test_a_bad_variable_value_is_a_400(world: World) -> None:
    response = world.query(
        "query($first: Int) { topProducts(first: $first) { upc } }", {"first": "many"}
    )
    assert response.status_code == 400


def test_a_compound_nested_key_joins_from_a_subgraph_that_knows_only_that_key(
    world: World,
) -> None:
    world.reset_counts()
    data = world.data("{ restock { sku variation { id } name price stockLevel } }")
    assert data["restock"] == [
        {"sku": "S2", "variation": {"id": "v2"}, "name": "Chair", "price": 40, "stockLevel": 0},
        {"sku": "S3", "variation": {"id": "v3"}, "name": "Lamp", "price": 25, "stockLevel": 0},
    ]
    assert world.counts() == only(warehouse=1, products=1)


def test_the_compound_key_is_chosen_among_several_for_the_target(world: World) -> None:
    data = world.data("{ topProducts(first: 2) { upc stockLevel } }")
    assert data["topProducts"] == [{"upc": "p1", "stockLevel": 21}, {"upc": "p2", "stockLevel": 22}]


def test_an_interface_object_adds_fields_to_every_implementation(world: World) -> None:
    world.reset_counts()
    data = world.data("{ media { __typename title rating } }")
    assert data["media"] == [
        {"__typename": "Book", "title": "Dune", "rating": 4},
        {"__typename": "Book", "title": "Emma", "rating": 5},
        {"__typename": "Movie", "title": "Alien", "rating": 3},
    ]
    assert world.counts() == only(products=1, ratings=1)


def test_an_interface_object_root_gets_real_types_from_the_interface_owner(
    world: World,
) -> None:
    data = world.data("{ topRated { __typename id rating title ... on Book { reviewCount } } }")
    assert data["topRated"] == [
        {"__typename": "Book", "id": "b2", "rating": 5, "title": "Emma", "reviewCount": 0},
        {"__typename": "Book", "id": "b1", "rating": 4, "title": "Dune", "reviewCount": 7},
        {"__typename": "Movie", "id": "m1", "rating": 3, "title": "Alien"},
    ]


def test_requires_with_arguments(world: World) -> None:
    data = world.data("{ topProducts(first: 2) { upc euroLabel } }")
    assert data["topProducts"] == [
        {"upc": "p1", "euroLabel": "EUR 200"},
        {"upc": "p2", "euroLabel": "EUR 80"},
    ]


def test_a_field_excluded_by_skip_or_include_costs_no_fetch(world: World) -> None:
    query = """query($withReviews: Boolean = false) {
      topProducts(first: 1) { upc reviews @include(if: $withReviews) { body } } }"""
    world.reset_counts()
    assert world.data(query) == {"topProducts": [{"upc": "p1"}]}
    assert world.counts() == only(products=1)
    world.reset_counts()
    assert world.data(query, {"withReviews": True})["topProducts"][0]["reviews"]
    assert world.counts() == only(products=1, reviews=1)


def test_a_shared_root_field_goes_to_the_subgraph_that_resolves_the_whole_selection(
    world: World,
) -> None:
    world.reset_counts()
    assert world.data("{ featured { title stockNote } }") == {
        "featured": {"title": "Spring sale", "stockNote": "all in stock"}
    }
    assert world.counts() == only(warehouse=1)


def test_a_requirement_that_has_requirements_of_its_own(world: World) -> None:
    data = world.data("{ topProducts { upc restockCost } }")
    assert data["topProducts"] == [
        {"upc": "p1", "restockCost": 1},
        {"upc": "p2", "restockCost": 61},
        {"upc": "p3", "restockCost": 21},
    ]
