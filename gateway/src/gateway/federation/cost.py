"""An operation's cost (IBM's cost specification, as Apollo Router's demand control counts
it), in two parts: a formula compiled once per document and cached with it, and its value
for one request's variables, computed before anything is planned or fetched.

- A field costs its `@cost` weight, else its type's: the type's `@cost`, else 1 for an
  object, interface or union and 0 for a scalar or enum.
- A list multiplies its field's weight and everything selected below it by its size: the
  largest value of the slicing arguments its `@listSize` names (the request's variables
  included; an argument left out counts as its default), else the `assumedSize`, else
  the gateway's assumed list size. `@listSize(sizedFields:)` gives that size to child fields
  (a page's `items`) instead. A list field without `@listSize` taking `first`, `last` or
  `limit` is sliced by them.
- An argument or input field with a `@cost` weight adds it when the request gives it.

Parts of the formula that no variable changes are summed when compiled, so a request pays
only for what its variables decide. Fragments are compiled once each, and their value is
computed once per request, however often they are spread."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    value_from_ast,
)
from graphql.language import NullValueNode

from gateway.federation.demand import DemandWeights

__all__ = ["COST_CEILING", "CostFormula", "compile_cost"]

SLICING_ARGUMENTS = ("first", "last", "limit")
# nested lists multiply: a cost past what a JSON number carries exactly says no more (and
# any cost this high is refused)
COST_CEILING = 2**53 - 1


@dataclass(frozen=True)
class Size:
    """A list's size for one request: the largest slicing value given, else `fallback`."""

    slicing: tuple[tuple[ValueNode | None, Any], ...]  # (the value in the document, default)
    fallback: int

    def of(self, variables: Mapping[str, Any]) -> int:
        found: int | None = None
        for node, default in self.slicing:
            value = default
            if isinstance(node, VariableNode):
                value = variables.get(node.name.value, default)
            elif isinstance(node, IntValueNode):
                value = int(node.value)
            elif isinstance(node, NullValueNode):
                value = None
            if isinstance(value, int) and not isinstance(value, bool):
                found = value if found is None else max(found, value)
        return max(found, 0) if found is not None else self.fallback

    @property
    def constant(self) -> int | None:
        if any(isinstance(node, VariableNode) for node, _ in self.slicing):
            return None
        return self.of({})


@dataclass(frozen=True)
class ArgumentCost:
    """An argument whose value may carry `@cost` weights (its own, its input fields')."""

    node: ValueNode
    type: GraphQLInputType
    weight: int  # the argument's own, when given

    def of(self, variables: Mapping[str, Any], weights: DemandWeights) -> int:
        value = value_from_ast(self.node, self.type, dict(variables))
        if value is Undefined or value is None:
            return 0
        return self.weight + _input_cost(value, self.type, weights)


@dataclass(frozen=True)
class Term:
    """A field whose cost depends on the variables: size x (weight + below) + arguments."""

    weight: int
    size: Size | None
    arguments: tuple[ArgumentCost, ...]
    below: Sum


@dataclass(frozen=True)
class Spread:
    key: tuple[str, int]  # the fragment compiled in this sizing context


@dataclass(frozen=True)
class Sum:
    constant: int = 0
    terms: tuple[Term | Spread, ...] = ()


@dataclass
class CostFormula:
    root: Sum
    fragments: dict[tuple[str, int], Sum] = field(default_factory=dict)
    weights: DemandWeights = field(default_factory=DemandWeights)
    nodes: int = 0  # terms and spreads kept: what the formula holds in memory

    def of(self, variables: Mapping[str, Any]) -> int:
        """The operation's cost for these (coerced) variable values."""
        if not self.root.terms:
            return min(self.root.constant, COST_CEILING)
        return min(_Evaluation(self, variables).sum(self.root), COST_CEILING)


class _Evaluation:
    def __init__(self, formula: CostFormula, variables: Mapping[str, Any]) -> None:
        self.formula = formula
        self.variables = variables
        self.fragments: dict[tuple[str, int], int] = {}

    def sum(self, total: Sum) -> int:
        cost = total.constant
        for term in total.terms:
            if isinstance(term, Spread):
                value = self.fragments.get(term.key)
                if value is None:
                    value = self.fragments[term.key] = self.sum(self.formula.fragments[term.key])
                cost += value
            else:
                size = term.size.of(self.variables) if term.size is not None else 1
                cost += size * (term.weight + self.sum(term.below))
                for argument in term.arguments:
                    cost += argument.of(self.variables, self.formula.weights)
        return cost


def compile_cost(
    schema: GraphQLSchema,
    weights: DemandWeights,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    assumed_list_size: int,
) -> CostFormula:
    """The cost formula of a validated operation."""
    compiler = _Compiler(schema, weights, document, assumed_list_size)
    root_type = schema.get_root_type(operation.operation)
    root = compiler.selections(operation.selection_set, root_type, None, frozenset())
    return CostFormula(root, compiler.compiled, weights, compiler.nodes)


_NO_SIZING = (frozenset[str](), None)

# what the cost of a field needs from the schema alone, by (parent type, field): its
# definition (None: not a field of an object or interface type), named type, whether it is
# a list, whether its named type is composite. Worked out once per schema, not per field of
# every document (a third of compiling a 1,400-field formula was these lookups).
_FieldFacts = tuple[GraphQLField | None, GraphQLNamedType | None, bool, bool]
_FACTS: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], _FieldFacts]] = WeakKeyDictionary()


class _Compiler:
    def __init__(
        self,
        schema: GraphQLSchema,
        weights: DemandWeights,
        document: DocumentNode,
        assumed_list_size: int,
    ) -> None:
        self.schema = schema
        self.weights = weights
        self.assumed = assumed_list_size
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.compiled: dict[tuple[str, int], Sum] = {}
        self.sizings: list[Size] = []  # kept alive: their ids key fragments compiled for them
        self.weighted_inputs: dict[str, bool] = {}
        self.nodes = 0
        facts = _FACTS.get(schema)
        if facts is None:
            facts = _FACTS[schema] = {}
        self.facts = facts

    def selections(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType | None,
        sized: Size | None,
        sized_fields: frozenset[str],
        visiting: frozenset[str] = frozenset(),
    ) -> Sum:
        constant = 0
        terms: list[Term | Spread] = []
        for selection in selection_set.selections:
            part: int | Term | Spread
            if isinstance(selection, FieldNode):
                field_size = sized if selection.name.value in sized_fields else None
                part = self.field(selection, parent, field_size, visiting)
            elif isinstance(selection, InlineFragmentNode):
                condition = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                inline = self.selections(
                    selection.selection_set, condition, sized, sized_fields, visiting
                )
                constant += inline.constant
                terms += inline.terms
                continue
            elif isinstance(selection, FragmentSpreadNode):
                part = self.spread(selection.name.value, sized, sized_fields, visiting)
            else:  # pragma: no cover - graphql-core has no other selection
                continue
            if isinstance(part, int):
                constant += part
            else:
                terms.append(part)
        self.nodes += len(terms) + 1
        return Sum(constant, tuple(terms))

    def spread(
        self, name: str, sized: Size | None, sized_fields: frozenset[str], visiting: frozenset[str]
    ) -> int | Spread:
        fragment = self.fragments.get(name)
        if fragment is None or name in visiting:  # validation refuses these
            return 0
        key = (name, id(sized) if sized is not None and sized_fields else 0)
        compiled = self.compiled.get(key)
        if compiled is None:
            condition = self.schema.get_type(fragment.type_condition.name.value)
            compiled = self.compiled[key] = self.selections(
                fragment.selection_set, condition, sized, sized_fields, visiting | {name}
            )
        return compiled.constant if not compiled.terms else Spread(key)

    def field(
        self,
        node: FieldNode,
        parent: GraphQLNamedType | None,
        sized: Size | None,
        visiting: frozenset[str],
    ) -> int | Term:
        name = node.name.value
        if name == "__typename" or parent is None:
            return 0
        key = (parent.name, name)
        facts = self.facts.get(key)
        if facts is None:
            facts = self.facts[key] = _field_facts(parent, name)
        definition, named, is_list, composite = facts
        if definition is None or named is None:
            # introspection: the gateway answers it from the schema it holds, asking no
            # subgraph and no database (its size is bounded by the other limits), so it
            # costs nothing: GraphiQL's and the Explorer's schema query always runs
            return 0
        weight = self.weights.fields.get(key)
        if weight is None:
            weight = self.weights.types.get(named.name, 1 if composite else 0)
        list_size = self.weights.list_sizes.get(key)
        if list_size is None and not node.arguments and node.selection_set is None and not is_list:
            return weight  # a plain leaf: what _folded makes of its term, without one
        own_size: Size | None = None
        child_size: Size | None = None
        child_fields: frozenset[str] = frozenset()
        arguments = {a.name.value: a.value for a in node.arguments or ()}
        if list_size is not None:
            slicing = tuple(
                (arguments.get(a), _default(definition.args.get(a)))
                for a in list_size.slicing_arguments
            )
            size = Size(slicing, list_size.assumed_size or self.assumed)
            if list_size.sized_fields:
                child_size, child_fields = size, frozenset(list_size.sized_fields)
                self.sizings.append(size)
            elif is_list:
                own_size = size
        elif is_list:
            slicing = tuple(
                (arguments.get(a), _default(definition.args.get(a)))
                for a in SLICING_ARGUMENTS
                if a in definition.args
            )
            own_size = Size(slicing, self.assumed)
        if sized is not None and is_list:
            own_size = sized
        below = (
            self.selections(node.selection_set, named, child_size, child_fields, visiting)
            if node.selection_set
            else Sum()
        )
        argument_costs = tuple(
            ArgumentCost(
                value, argument.type, self.weights.arguments.get((parent.name, name, arg), 0)
            )
            for arg, value in arguments.items()
            if (argument := definition.args.get(arg)) is not None
            and (
                (parent.name, name, arg) in self.weights.arguments or self._weighted(argument.type)
            )
        )
        return _folded(Term(weight, own_size, argument_costs, below))

    def _weighted(self, type_: GraphQLInputType) -> bool:
        """Whether values of this input type can carry `@cost` weights."""
        named = get_named_type(type_)
        if not isinstance(named, GraphQLInputObjectType):
            return False
        known = self.weighted_inputs.get(named.name)
        if known is None:
            self.weighted_inputs[named.name] = False  # a recursive input: not through itself
            known = any(
                (named.name, field_name) in self.weights.fields or self._weighted(input_field.type)
                for field_name, input_field in named.fields.items()
            )
            self.weighted_inputs[named.name] = known
        return known


def _field_facts(parent: GraphQLNamedType, name: str) -> _FieldFacts:
    definition = (
        parent.fields.get(name)
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
        else None
    )
    if definition is None:
        return None, None, False, False
    named = get_named_type(definition.type)
    return definition, named, _is_list(definition.type), _composite(named)


def _folded(term: Term) -> int | Term:
    """A term no variable changes, as its number."""
    if term.arguments or term.below.terms:
        return term
    size = 1 if term.size is None else term.size.constant
    if size is None:
        return term
    return size * (term.weight + term.below.constant)


def _input_cost(value: Any, type_: GraphQLInputType, weights: DemandWeights) -> int:
    nullable = get_nullable_type(type_)
    if isinstance(nullable, GraphQLList):
        items = value if isinstance(value, list) else [value]
        return sum(_input_cost(item, nullable.of_type, weights) for item in items)
    if not isinstance(nullable, GraphQLInputObjectType) or not isinstance(value, dict):
        return 0
    cost = 0
    for name, input_field in nullable.fields.items():
        given = value.get(input_field.out_name or name)
        if given is None:
            continue
        cost += weights.fields.get((nullable.name, name), 0)
        cost += _input_cost(given, input_field.type, weights)
    return cost


def _composite(named: GraphQLNamedType) -> bool:
    return isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)


def _is_list(type_: Any) -> bool:
    return isinstance(get_nullable_type(type_), GraphQLList)


def _default(argument: GraphQLArgument | None) -> Any:
    """An argument's default (a schema built from SDL keeps it as syntax only)."""
    if argument is None:
        return None
    if argument.default_value is not Undefined:
        return argument.default_value
    node = argument.ast_node.default_value if argument.ast_node else None
    value = value_from_ast(node, argument.type) if node is not None else None
    return None if value is Undefined else value
