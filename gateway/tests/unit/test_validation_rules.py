"""Validation skips the rules that cannot find anything in a document (validation.py): each
skipped rule still refuses, with the same errors as the full set, every document it could
refuse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from graphql import (
    GraphQLDeferDirective,
    GraphQLError,
    GraphQLSchema,
    GraphQLStreamDirective,
    build_schema,
    parse,
    specified_directives,
    validate,
)
from graphql.validation import ASTValidationRule, ProvidedRequiredArgumentsRule, specified_rules

from gateway.federation.validation import (
    GATED_RULES,
    PLAIN_RULES,
    plainly_valid,
    rules_for,
    validate_document,
)

SDL = """
type Query { f(x: Int): Int g(i: In): Int o: Obj list: [Int] req(x: Int!): Int
  node: Node u: U objs: [Obj!]! }
type Mutation { m: Int }
type Subscription { s: Obj }
type Obj implements Node { a: Int id: ID! o: Obj b: String }
type Other { b: Int }
interface Node { id: ID! o: Obj }
union U = Obj | Other
input In { a: Int }
"""


def _schema() -> GraphQLSchema:
    schema = build_schema(SDL)
    kwargs: dict[str, Any] = dict(schema.to_kwargs())
    kwargs["directives"] = (*specified_directives, GraphQLDeferDirective, GraphQLStreamDirective)
    return GraphQLSchema(**kwargs)


SCHEMA = _schema()

# one document each gated rule refuses
BREAKING = {
    "VariablesAreInputTypesRule": "query($a: Obj) { f }",
    "UniqueVariableNamesRule": "query($a: Int, $a: Int) { f(x: $a) }",
    "NoUndefinedVariablesRule": "query { f(x: $a) }",
    "NoUnusedVariablesRule": "query($a: Int) { f }",
    "VariablesInAllowedPositionRule": "query($a: String) { f(x: $a) }",
    "FragmentsOnCompositeTypesRule": "{ o { ...F } } fragment F on Int { a }",
    "KnownFragmentNamesRule": "{ ...Missing }",
    "PossibleFragmentSpreadsRule": "{ o { ... on Other { b } } }",
    "UniqueFragmentNamesRule": "{ ...F } fragment F on Query { f } fragment F on Query { f }",
    "NoUnusedFragmentsRule": "{ f } fragment F on Query { f }",
    "NoFragmentCyclesRule": "{ ...F } fragment F on Query { ...F }",
    "KnownDirectivesRule": "{ f @unknown }",
    "UniqueDirectivesPerLocationRule": "{ f @skip(if: true) @skip(if: true) }",
    "DeferStreamDirectiveOnRootField": "mutation { ... @defer { m } }",
    "DeferStreamDirectiveOnValidOperationsRule": "subscription { s { ... @defer { a } } }",
    "DeferStreamDirectiveLabel": '{ ... @defer(label: "x") { f } ... @defer(label: "x") { o } }',
    "StreamDirectiveOnListField": "{ f @stream }",
    "KnownArgumentNamesRule": "{ f(y: 1) }",
    "UniqueArgumentNamesRule": "{ f(x: 1, x: 2) }",
    "ValuesOfCorrectTypeRule": '{ f(x: "one") }',
    "UniqueInputFieldNamesRule": "{ g(i: {a: 1, a: 2}) }",
    "KnownOperationTypesRule": "mutation { m }",  # on a schema without mutations
    "SingleFieldSubscriptionsRule": "subscription { s { a } t: s { a } }",
    "MaxIntrospectionDepthRule": (
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    ),
}
# the schema a breaking document is checked against, when not SCHEMA
SCHEMAS = {"KnownOperationTypesRule": build_schema("type Query { f: Int }")}


def _shown(errors: Sequence[GraphQLError]) -> list[tuple[str, object]]:
    return [(e.message, e.locations) for e in errors]


def _name(rule: type[ASTValidationRule]) -> str:
    return rule.__name__


def test_every_gated_rule_is_one_graphql_core_specifies_and_has_a_breaking_document() -> None:
    assert set(GATED_RULES) <= set(specified_rules)
    assert {rule.__name__ for rule in GATED_RULES} == set(BREAKING)


GATED: list[type[ASTValidationRule]] = sorted(GATED_RULES, key=_name)


@pytest.mark.parametrize("rule", GATED, ids=_name)
def test_a_document_a_gated_rule_refuses_is_refused_as_by_every_rule(
    rule: type[ASTValidationRule],
) -> None:
    text = BREAKING[rule.__name__]
    schema = SCHEMAS.get(rule.__name__, SCHEMA)
    document = parse(text)
    assert validate(schema, document, [rule]), "the example does break the rule"
    assert rule in rules_for(text)
    assert _shown(validate_document(schema, document, text)) == _shown(validate(schema, document))


def test_a_document_without_variables_fragments_directives_or_arguments_skips_their_rules() -> None:
    rules = rules_for("query Deep { o { a } list }")
    assert not set(rules) & set(GATED_RULES)
    assert len(rules) == len(specified_rules) - len(GATED_RULES)
    # a missing required argument is found with no `(` in the text
    assert ProvidedRequiredArgumentsRule in rules
    text = "{ req }"
    assert _shown(validate_document(SCHEMA, parse(text), text)) == _shown(
        validate(SCHEMA, parse(text))
    )
    assert validate_document(SCHEMA, parse(text), text)


def test_marks_inside_strings_or_comments_only_run_more_rules() -> None:
    text = '{ f(x: 1) # $ ... @ fragment mutation subscription "__schema"\n g(i: {a: 1}) }'
    assert set(GATED_RULES) <= set(rules_for(text))
    assert list(validate_document(SCHEMA, parse(text), text)) == []


# the plain check (fields and aliases only) stands for graphql-core: it may only say valid
# where graphql-core finds nothing; anything else is validated by graphql-core


def test_the_plain_rules_are_those_of_a_document_without_marks() -> None:
    assert set(rules_for("{ o { a } }")) == PLAIN_RULES


PLAINLY_VALID = [
    "{ f }",
    "query Q { o { a id } list node { id o { b __typename } } objs { a } }",
    "{ __typename o { __typename } u { __typename } }",
    "{ x: o { a } x: o { id } y: o { a: b } }",  # one key merged: same field, children agree
    "query A { f } query B { o { a } }",
    "{ o { o { o { o { a } } } } other: o { o { b } } }",
]

# each is refused by graphql-core (all of the plain rules run on it)
PLAINLY_REFUSED = [
    "{ missing }",  # FieldsOnCorrectType
    "{ o }",  # ScalarLeafs: a composite without selection
    "{ f { a } }",  # ScalarLeafs: a leaf with one
    "{ __typename { a } }",
    "{ req }",  # ProvidedRequiredArguments
    "{ x: f x: list }",  # OverlappingFields: two names under one key
    "{ x: o { a } x: o { a: id } }",  # ... in the merged children
    "{ o { a } o { a: b } }",
    "query Q { f } query Q { f }",  # UniqueOperationNames
    "{ f } query Q { f }",  # LoneAnonymousOperation
    "{ u { a } }",  # a union's field
    "{ node { a } }",  # not on the interface
    "{ f } type T { a: Int }",  # ExecutableDefinitions
    "{ o { a } } { f }",
]


@pytest.mark.parametrize("text", PLAINLY_VALID)
def test_a_valid_plain_document_is_passed_by_the_plain_check(text: str) -> None:
    document = parse(text)
    assert validate(SCHEMA, document) == []
    assert plainly_valid(SCHEMA, document)
    assert validate_document(SCHEMA, document, text) == []


@pytest.mark.parametrize("text", PLAINLY_REFUSED)
def test_an_invalid_plain_document_gets_graphql_cores_errors(text: str) -> None:
    document = parse(text)
    assert validate(SCHEMA, document), "graphql-core refuses it"
    assert not plainly_valid(SCHEMA, document)
    assert _shown(validate_document(SCHEMA, document, text)) == _shown(validate(SCHEMA, document))


def test_generated_plain_documents_pass_the_plain_check_only_when_graphql_core_does() -> None:
    """Random selections over the schema's fields, aliases and typos included: wherever the
    plain check says valid, graphql-core finds nothing; and it says valid for most of those
    graphql-core finds valid (so the fast path is really taken)."""
    import random

    rng = random.Random(22)
    names = {
        "Query": ["f", "o", "list", "node", "u", "objs", "req", "nope", "__typename"],
        "Obj": ["a", "id", "o", "b", "__typename", "zz"],
        "Node": ["id", "o", "a", "__typename"],
        "U": ["__typename", "a"],
    }
    composite = {"o": "Obj", "node": "Node", "u": "U", "objs": "Obj"}

    def selection(type_name: str, depth: int) -> str:
        parts = []
        for _ in range(rng.randint(1, 4)):
            name = rng.choice(names[type_name])
            alias = f"{rng.choice('xyab')}: " if rng.random() < 0.3 else ""
            child = composite.get(name)
            if child and depth < 4 and rng.random() < 0.9:
                parts.append(f"{alias}{name} {{ {selection(child, depth + 1)} }}")
            elif rng.random() < 0.1:
                parts.append(f"{alias}{name} {{ a }}")
            else:
                parts.append(f"{alias}{name}")
        return " ".join(parts)

    agreed_valid = 0
    for _ in range(600):
        text = "{ " + selection("Query", 0) + " }"
        document = parse(text)
        errors = validate(SCHEMA, document)
        if plainly_valid(SCHEMA, document):
            assert errors == [], text
            agreed_valid += 1
        assert _shown(validate_document(SCHEMA, document, text)) == _shown(errors), text
    assert agreed_valid >= 50
