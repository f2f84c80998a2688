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
a skipped rule adds none, and the others see the same walk.

A plain document (fields and aliases only: none of those marks, so the eight rules left are
the only ones) is first checked by one walk of its own (`_plainly_valid`), which says only
"valid" or "not sure": graphql-core's walk carries type information through a visitor per
rule at every node, 13 ms of a 3,000-node document (7 of them the walk itself), where this
check takes about 1. Only a document the check finds valid skips graphql-core; any other
(an unknown field, a leaf with a selection, a required argument left out, an alias on two
fields) is validated by graphql-core, so every error and its text come from graphql-core as
before. The check answers "valid" only where each of the eight rules has nothing to find:
every definition an operation of a root type the schema has, operation names unique and
none anonymous beside another, every field defined on its parent type (`__typename`
anywhere), none with a required argument, a selection exactly on the fields of composite
type, and fields of one response key, gathered across the selections they would be merged
from, all of one name (with no arguments and no fragments the overlap rule can find
nothing else: one field of one parent type has one type)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import cast

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    is_required_argument,
    validate,
)
from graphql.validation import (
    DeferStreamDirectiveLabel,
    DeferStreamDirectiveOnRootField,
    DeferStreamDirectiveOnValidOperationsRule,
    ExecutableDefinitionsRule,
    FieldsOnCorrectTypeRule,
    FragmentsOnCompositeTypesRule,
    KnownArgumentNamesRule,
    KnownDirectivesRule,
    KnownFragmentNamesRule,
    KnownOperationTypesRule,
    KnownTypeNamesRule,
    LoneAnonymousOperationRule,
    MaxIntrospectionDepthRule,
    NoFragmentCyclesRule,
    NoUndefinedVariablesRule,
    NoUnusedFragmentsRule,
    NoUnusedVariablesRule,
    OverlappingFieldsCanBeMergedRule,
    PossibleFragmentSpreadsRule,
    ProvidedRequiredArgumentsRule,
    ScalarLeafsRule,
    SingleFieldSubscriptionsRule,
    StreamDirectiveOnListField,
    UniqueArgumentNamesRule,
    UniqueDirectivesPerLocationRule,
    UniqueFragmentNamesRule,
    UniqueInputFieldNamesRule,
    UniqueOperationNamesRule,
    UniqueVariableNamesRule,
    ValidationContext,
    ValuesOfCorrectTypeRule,
    VariablesAreInputTypesRule,
    VariablesInAllowedPositionRule,
    specified_rules,
)

__all__ = ["GATED_RULES", "PLAIN_RULES", "plainly_valid", "rules_for", "validate_document"]

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


# the rules a document without any mark is validated by, which `_plainly_valid` stands for
PLAIN_RULES: frozenset[RuleType] = frozenset(
    {
        ExecutableDefinitionsRule,
        UniqueOperationNamesRule,
        LoneAnonymousOperationRule,
        KnownTypeNamesRule,  # names only types in variables and fragments: none here
        ScalarLeafsRule,
        FieldsOnCorrectTypeRule,
        ProvidedRequiredArgumentsRule,
        OverlappingFieldsCanBeMergedRule,
    }
)


def validate_document(
    schema: GraphQLSchema, document: DocumentNode, text: str
) -> Sequence[GraphQLError]:
    """graphql-core's `validate` for `document`, parsed from `text`."""
    rules = rules_for(text)
    if frozenset(rules) == PLAIN_RULES and plainly_valid(schema, document):
        return []
    made: list[ASTValidationRule] = []

    def rule_kept(rule: type[ASTValidationRule]) -> type[ASTValidationRule]:
        def make(context: ValidationContext) -> ASTValidationRule:
            instance = rule(context)
            made.append(instance)
            return instance

        return cast("type[ASTValidationRule]", make)

    try:
        return validate(schema, document, [rule_kept(rule) for rule in rules])
    finally:
        _let_go(made)


def _let_go(rules: list[ASTValidationRule]) -> None:
    """Validation leaves its rules in reference cycles (each visitor keeps its own bound
    methods), and through them its context, the document and the overlap rule's caches of
    its nodes: garbage only a collection finds. For a document refused after validation
    (over the cost limit, sent by a flood with new literals each time) that was its whole
    syntax tree, thousands of objects a document: young collections of tens of thousands,
    each holding the interpreter's lock for 100-300 ms on a loaded machine. The links from
    the cycles to the document are cut here, so the tree dies by reference counting."""
    for rule in rules:
        rule.context.__dict__.clear()
        rule.__dict__.clear()


# (parent type, field name) -> the field's named type is a leaf (None: no such field, or one
# with a required argument: let graphql-core tell)
_Leaves = dict[tuple[str, str], bool | None]


def plainly_valid(schema: GraphQLSchema, document: DocumentNode) -> bool:
    """True only when the plain rules (PLAIN_RULES) find nothing in `document`; False when
    it may hold anything else than fields and aliases, or anything they would refuse."""
    names: set[str | None] = set()
    operations = document.definitions
    for definition in operations:
        if not isinstance(definition, OperationDefinitionNode):
            return False
        name = definition.name.value if definition.name else None
        if name in names or (name is None and len(operations) > 1):
            return False
        names.add(name)
        if definition.variable_definitions or definition.directives:
            return False
        root = schema.get_root_type(definition.operation)
        if root is None:
            return False
        if not _fields_valid(root, [definition.selection_set], {}):
            return False
    return True


def _fields_valid(
    parent: GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType,
    selection_sets: list[SelectionSetNode],
    leaves: _Leaves,
) -> bool:
    """The fields of `selection_sets` (one, or those of fields of one response key, which
    the response merges) valid on `parent`, and their merged children on theirs."""
    groups: dict[str, list[FieldNode]] = {}
    for selection_set in selection_sets:
        for selection in selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.arguments or selection.directives:
                return False
            key = selection.alias.value if selection.alias else selection.name.value
            group = groups.get(key)
            if group is None:
                groups[key] = [selection]
            elif group[0].name.value != selection.name.value:
                return False  # two fields under one key: for graphql-core to word
            else:
                group.append(selection)
    type_name = parent.name
    for group in groups.values():
        name = group[0].name.value
        if name == "__typename":
            if any(node.selection_set is not None for node in group):
                return False
            continue
        if (type_name, name) in leaves:
            leaf = leaves[type_name, name]
        else:
            leaf = leaves[type_name, name] = _leaf(parent, name)
        if leaf is None:
            return False
        if leaf:
            if any(node.selection_set is not None for node in group):
                return False
            continue
        children: list[SelectionSetNode] = []
        for node in group:
            if node.selection_set is None:
                return False
            children.append(node.selection_set)
        assert not isinstance(parent, GraphQLUnionType)  # a union's fields are no leaves
        named = get_named_type(parent.fields[name].type)
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            return False
        if not _fields_valid(named, children, leaves):
            return False
    return True


def _leaf(
    parent: GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType, name: str
) -> bool | None:
    if name.startswith("__") or isinstance(parent, GraphQLUnionType):
        return None  # introspection, or a union's field (only __typename is): graphql-core's
    definition = parent.fields.get(name)
    if definition is None or any(is_required_argument(a) for a in definition.args.values()):
        return None
    return is_leaf_type(get_named_type(definition.type))
