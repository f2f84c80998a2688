"""Validating a new document: graphql-core's specified rules, less those that cannot find
anything in this document.

Each rule is one more visitor on every node of the walk, so a large document (3,000 fields)
pays for all 32 on each of them. Most rules only look at nodes that a document without a
certain character cannot hold: no `$`, no variable; no `...`, no spread or inline fragment;
no `fragment`, no fragment definition; no `@`, no directive; no `(`, no argument, value or
variable definition; no `mutation` or `subscription`, no operation type the schema may lack;
no `__schema` or `__type`, no introspection to measure. Text absent from the document is
absent from every token, so such a
rule, skipped, would have reported nothing (the characters may also be in strings or
comments: then the rule just runs). The errors and their order are those of the full set:
a skipped rule adds none, and the others see the same walk."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from graphql.validation import (
    DeferStreamDirectiveLabel,
    DeferStreamDirectiveOnRootField,
    DeferStreamDirectiveOnValidOperationsRule,
    FragmentsOnCompositeTypesRule,
    KnownArgumentNamesRule,
    KnownDirectivesRule,
    KnownFragmentNamesRule,
    KnownOperationTypesRule,
    MaxIntrospectionDepthRule,
    NoFragmentCyclesRule,
    NoUndefinedVariablesRule,
    NoUnusedFragmentsRule,
    NoUnusedVariablesRule,
    PossibleFragmentSpreadsRule,
    SingleFieldSubscriptionsRule,
    StreamDirectiveOnListField,
    UniqueArgumentNamesRule,
    UniqueDirectivesPerLocationRule,
    UniqueFragmentNamesRule,
    UniqueInputFieldNamesRule,
    UniqueVariableNamesRule,
    ValuesOfCorrectTypeRule,
    VariablesAreInputTypesRule,
    VariablesInAllowedPositionRule,
    specified_rules,
)

__all__ = ["GATED_RULES", "rules_for", "validate_document"]

RuleType = type[ASTValidationRule]

_VARIABLES = ("$",)
_DIRECTIVES = ("@",)
_ARGUMENTS = ("(",)  # arguments, and the values and variable definitions inside them

# a rule -> the text a document needs for the rule to find anything (any one of them)
GATED_RULES: dict[RuleType, tuple[str, ...]] = {
    VariablesAreInputTypesRule: _VARIABLES,
    UniqueVariableNamesRule: _VARIABLES,
    NoUndefinedVariablesRule: _VARIABLES,
    NoUnusedVariablesRule: _VARIABLES,
    VariablesInAllowedPositionRule: _VARIABLES,
    FragmentsOnCompositeTypesRule: ("...", "fragment"),  # inline fragments and definitions
    KnownFragmentNamesRule: ("...",),
    PossibleFragmentSpreadsRule: ("...",),
    UniqueFragmentNamesRule: ("fragment",),
    NoUnusedFragmentsRule: ("fragment",),
    NoFragmentCyclesRule: ("fragment",),
    KnownDirectivesRule: _DIRECTIVES,
    UniqueDirectivesPerLocationRule: _DIRECTIVES,
    DeferStreamDirectiveOnRootField: _DIRECTIVES,
    DeferStreamDirectiveOnValidOperationsRule: _DIRECTIVES,
    DeferStreamDirectiveLabel: _DIRECTIVES,
    StreamDirectiveOnListField: _DIRECTIVES,
    KnownArgumentNamesRule: _ARGUMENTS,
    UniqueArgumentNamesRule: _ARGUMENTS,
    ValuesOfCorrectTypeRule: _ARGUMENTS,
    UniqueInputFieldNamesRule: _ARGUMENTS,
    # an operation type the schema lacks: every valid schema has a query type
    KnownOperationTypesRule: ("mutation", "subscription"),
    SingleFieldSubscriptionsRule: ("subscription",),
    MaxIntrospectionDepthRule: ("__schema", "__type"),  # it starts at these fields only
    # not gated: ProvidedRequiredArgumentsRule finds arguments that are missing
}

_MARKS = tuple(sorted({mark for marks in GATED_RULES.values() for mark in marks}))


def rules_for(text: str) -> tuple[RuleType, ...]:
    """The specified rules that may find something in a document of this text."""
    return _rules_with(frozenset(mark for mark in _MARKS if mark in text))


@lru_cache(maxsize=64)  # one entry per combination of marks: at most 2**6
def _rules_with(present: frozenset[str]) -> tuple[RuleType, ...]:
    return tuple(
        rule
        for rule in specified_rules
        if rule not in GATED_RULES or any(mark in present for mark in GATED_RULES[rule])
    )


def validate_document(
    schema: GraphQLSchema, document: DocumentNode, text: str
) -> Sequence[GraphQLError]:
    """graphql-core's `validate` for `document`, parsed from `text`."""
    return validate(schema, document, rules_for(text))
