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

from gateway.federation.validation import GATED_RULES, rules_for, validate_document

SDL = """
type Query { f(x: Int): Int g(i: In): Int o: Obj list: [Int] req(x: Int!): Int }
type Mutation { m: Int }
type Subscription { s: Obj }
type Obj { a: Int }
type Other { b: Int }
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
