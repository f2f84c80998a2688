"""The authorization filter on its own (gateway/federation/authorization.py): requirements
read from a supergraph, who meets them, and the operation a caller may run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, OperationDefinitionNode, parse, print_ast

from gateway.federation.authorization import (
    ANONYMOUS,
    Access,
    AuthorizationRules,
    OperationGuard,
    Requirement,
    authorize,
)
from gateway.federation.supergraph import Supergraph

from ..federation_cases.harness import CASES

SUPERGRAPH = Supergraph.parse(
    (CASES / "authorization_directives" / "supergraph.graphql").read_text()
)
SIGNED_IN = Requirement(authenticated=True)
READ_USERS = Requirement(any_of=(frozenset({"admin"}), frozenset({"read:users"})))


def _filtered(query: str, access: Access) -> tuple[str, list[str]]:
    """The operation the caller may run, printed, and the response keys refused."""
    document = parse(query)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    guard = OperationGuard.of(SUPERGRAPH.api_schema, SUPERGRAPH.authorization, document, operation)
    failed = guard.failed(access)
    filtered = authorize(
        SUPERGRAPH.api_schema,
        SUPERGRAPH.authorization,
        document,
        operation,
        failed,
        access.authenticated,
    )
    nodes = {id(node): node for node in _fields(document)}
    refused = sorted(f"{nodes[i].name.value}:{code}" for i, code in filtered.denied.items())
    return " ".join(print_ast(filtered.operation).split()), refused


def _fields(node: Any) -> Iterator[FieldNode]:
    """Every field node of a document, fragments' included."""
    if isinstance(node, FieldNode):
        yield node
    for child in getattr(node, "definitions", None) or ():
        yield from _fields(child)
    selection_set = getattr(node, "selection_set", None)
    for selection in selection_set.selections if selection_set else ():
        yield from _fields(selection)


def test_requirements_are_read_from_the_supergraph_on_fields_and_types() -> None:
    rules = SUPERGRAPH.authorization
    assert rules.fields[("Query", "me")] == SIGNED_IN
    assert rules.fields[("Query", "users")] == READ_USERS
    assert rules.types["Card"] == Requirement(any_of=(frozenset({"billing"}),))
    assert ("User", "name") not in rules.fields
    # the directives' machinery stays out of the schema clients see
    assert SUPERGRAPH.api_schema.get_type("requiresScopes__Scope") is None
    assert SUPERGRAPH.api_schema.get_directive("requiresScopes") is None


def test_a_supergraph_without_the_specs_has_no_rules() -> None:
    case = CASES / "partial_unions" / "supergraph.graphql"
    assert not Supergraph.parse(case.read_text()).authorization
    assert AuthorizationRules.of(parse("type Query { a: Int @authenticated }"), {}) == (
        AuthorizationRules()
    )


def test_scopes_are_any_of_sets_each_held_whole() -> None:
    both = Requirement(any_of=(frozenset({"a", "b"}), frozenset({"c"})))
    assert both.met_by(Access.signed_in("c"))
    assert both.met_by(Access.signed_in("customer", {"a", "b"}))
    assert not both.met_by(Access.signed_in("customer", {"a"}))
    assert not both.met_by(ANONYMOUS)
    assert SIGNED_IN.met_by(Access.signed_in("customer"))
    assert not SIGNED_IN.met_by(ANONYMOUS)
    assert Requirement().met_by(ANONYMOUS)


def test_requirements_combine_as_both() -> None:
    combined = READ_USERS & Requirement(any_of=(frozenset({"billing"}),))
    assert combined.any_of == (
        frozenset({"admin", "billing"}),
        frozenset({"read:users", "billing"}),
    )
    assert (SIGNED_IN & Requirement()).authenticated
    assert not combined.met_by(Access.signed_in("admin"))
    assert combined.met_by(Access.signed_in("admin", {"billing"}))


def test_an_operation_without_requirements_has_an_empty_guard() -> None:
    document = parse("{ notice }")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    guard = OperationGuard.of(SUPERGRAPH.api_schema, SUPERGRAPH.authorization, document, operation)
    assert guard.requirements == ()
    assert guard.failed(ANONYMOUS) == frozenset()


def test_refused_fields_leave_the_operation_with_their_code() -> None:
    printed, refused = _filtered("{ notice me { name } }", ANONYMOUS)
    assert printed == "{ notice }"
    assert refused == ["me:UNAUTHENTICATED"]
    printed, refused = _filtered("{ me { name email } }", Access.signed_in("customer"))
    assert printed == "{ me { name } }"
    assert refused == ["email:FORBIDDEN"]


def test_an_emptied_selection_keeps_the_object_with_its_typename() -> None:
    printed, refused = _filtered("{ me { email } }", Access.signed_in("customer"))
    assert printed == "{ me { __typename } }"
    assert refused == ["email:FORBIDDEN"]
    printed, _ = _filtered("{ me { name } }", ANONYMOUS)
    assert printed == "{ __typename }"


def test_a_type_requirement_covers_the_fields_returning_it_and_fragments_on_it() -> None:
    reader = Access.signed_in("customer", {"read:users"})
    printed, refused = _filtered("{ users { name card { last4 } } }", reader)
    assert printed == "{ users { name } }"
    assert refused == ["card:FORBIDDEN"]
    printed, refused = _filtered(
        "{ search { ... on User { id } ... on Invoice { id total } } }", reader
    )
    assert printed == "{ search { ... on User { id } } }"
    assert refused == ["id:FORBIDDEN", "total:FORBIDDEN"]


def test_named_fragments_are_inlined_and_filtered() -> None:
    printed, refused = _filtered(
        "query Q { me { ...Who } } fragment Who on User { id email }",
        Access.signed_in("customer"),
    )
    assert printed == "query Q { me { ... on User { id } } }"
    assert refused == ["email:FORBIDDEN"]


def test_an_anonymous_caller_failing_scopes_is_unauthenticated() -> None:
    _, refused = _filtered("{ users { name } }", ANONYMOUS)
    assert refused == ["users:UNAUTHENTICATED"]
