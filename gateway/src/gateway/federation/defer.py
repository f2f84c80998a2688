"""@defer (incremental delivery): which fragments of an operation are deferred, where, and
how each answer is delivered.

The client's document decides the delivery: every fragment carrying an active `@defer`
(its `if` true or absent) is a deferred part, delivered after the part that encloses it
(the first payload, or an outer deferred part), once for each object found at its response
path. The planner puts the fetches a deferred part needs into a group of their own
(`DeferredFragment.id`), so they run after the first payload has gone; anything the planner
could not separate is fetched earlier and still delivered with its part.

Deferred parts are found by a walk over the document with the schema (`find_deferred`):
each is known by its response path and its node, which is what the planner sees too.
The first payload is shaped by the document without the deferred fragments
(`primary_document`); a client that does not take multipart answers has the directive
ignored (`without_defer`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_named_type,
    visit,
)
from graphql.language import REMOVE, Visitor

from gateway.federation.conditions import included

__all__ = [
    "DEFER",
    "DeferKey",
    "DeferredFragment",
    "active_defer",
    "defer_variables",
    "find_deferred",
    "has_defer",
    "objects_at",
    "primary_document",
    "without_defer",
    "without_deferred",
]

DEFER = "defer"
# what the planner and the delivery both know a deferred fragment by: its response path
# (response keys from the root, no list indices) and the id of its node in the document
DeferKey = tuple[tuple[str, ...], int]


@dataclass(frozen=True)
class DeferredFragment:
    id: int  # 1, 2, ...: the planner's group of fetches; 0 is the first payload
    parent: int  # the part delivered before it (0: the first payload)
    label: str | None
    path: tuple[str, ...]  # response keys to the objects it is selected on
    parent_type: str  # the static type of those objects
    # the fragment itself (its type condition kept), nested deferred fragments taken out
    selection_set: SelectionSetNode = field(compare=False)


def _defer_directive(node: Any) -> DirectiveNode | None:
    directive: DirectiveNode
    for directive in getattr(node, "directives", None) or ():
        if directive.name.value == DEFER:
            return directive
    return None


def active_defer(node: Any, variables: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Whether a fragment is deferred with these variables (`if` true or absent), and its
    label."""
    directive = _defer_directive(node)
    if directive is None:
        return False, None
    active, label = True, None
    for argument in directive.arguments or ():
        value = argument.value
        if argument.name.value == "if":
            if isinstance(value, BooleanValueNode):
                active = value.value
            elif isinstance(value, VariableNode):
                # validation made it a Boolean!; a missing value takes the default, true
                active = variables.get(value.name.value, True) is not False
        elif argument.name.value == "label" and isinstance(value, StringValueNode):
            label = value.value
    return active, label


def has_defer(document: DocumentNode) -> bool:
    found = False

    class Find(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: object) -> Any:
            nonlocal found
            if node.name.value == DEFER:
                found = True
                return self.BREAK
            return None

    visit(document, Find())
    return found


def defer_variables(document: DocumentNode) -> frozenset[str]:
    """The variables @defer(if:) uses: a plan depends on their values."""
    names: set[str] = set()

    class Collect(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: object) -> None:
            if node.name.value == DEFER:
                for argument in node.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)

    visit(document, Collect())
    return frozenset(names)


def without_defer(document: DocumentNode) -> DocumentNode:
    """The document with every @defer removed: the whole answer at once."""

    class Strip(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: object) -> Any:
            return REMOVE if node.name.value == DEFER else None

    stripped = visit(document, Strip())
    assert isinstance(stripped, DocumentNode)
    return stripped


def primary_document(document: DocumentNode, variables: Mapping[str, Any]) -> DocumentNode:
    """The document without its active deferred fragments (what the first payload shows),
    the @defer of inactive ones removed."""
    stripped = without_deferred(document, variables)
    assert isinstance(stripped, DocumentNode)
    return stripped


def without_deferred(node: Any, variables: Mapping[str, Any]) -> Any:
    """A document or selection set without its active deferred fragments."""

    class Strip(Visitor):
        def enter_inline_fragment(self, node: InlineFragmentNode, *_: object) -> Any:
            return REMOVE if active_defer(node, variables)[0] else None

        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> Any:
            return REMOVE if active_defer(node, variables)[0] else None

        def enter_directive(self, node: DirectiveNode, *_: object) -> Any:
            return REMOVE if node.name.value == DEFER else None

    return visit(node, Strip())


def find_deferred(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
) -> tuple[list[DeferredFragment], dict[DeferKey, int]]:
    """The active deferred fragments of the operation, parents before children, and each
    one's id by its key."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return [], {}
    walk = _Walk(schema, document, variables)
    walk.selections(root, operation.selection_set.selections, (), 0, frozenset())
    return walk.found, walk.ids


class _Walk:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.found: list[DeferredFragment] = []
        self.ids: dict[DeferKey, int] = {}

    def selections(
        self,
        parent: Any,
        selections: Sequence[SelectionNode],
        path: tuple[str, ...],
        group: int,
        spread: frozenset[str],
    ) -> None:
        for selection in selections:
            if not included(selection, self.variables):
                continue
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name.startswith("__") or selection.selection_set is None:
                    continue
                definition = getattr(parent, "fields", {}).get(name)
                if definition is None:
                    continue
                key = selection.alias.value if selection.alias else name
                child = get_named_type(definition.type)
                inner = selection.selection_set.selections
                self.selections(child, inner, (*path, key), group, spread)
                continue
            condition: NamedTypeNode | None
            if isinstance(selection, FragmentSpreadNode):
                fragment_name = selection.name.value
                fragment = self.fragments.get(fragment_name)
                if fragment is None or fragment_name in spread:
                    continue
                condition = fragment.type_condition
                inner_set = fragment.selection_set
                spread = spread | {fragment_name}
            else:
                assert isinstance(selection, InlineFragmentNode)
                condition = selection.type_condition
                inner_set = selection.selection_set
            inner_type = self.schema.get_type(condition.name.value) if condition else parent
            active, label = active_defer(selection, self.variables)
            if not active:
                self.selections(inner_type, inner_set.selections, path, group, spread)
                continue
            where = (path, id(selection))
            number = self.ids.get(where)
            if number is None:
                number = self.ids[where] = len(self.found) + 1
                fragment_node = InlineFragmentNode(
                    type_condition=condition, directives=(), selection_set=inner_set
                )
                self.found.append(
                    DeferredFragment(
                        number,
                        group,
                        label,
                        path,
                        parent.name,
                        SelectionSetNode(selections=(fragment_node,)),
                    )
                )
            self.selections(inner_type, inner_set.selections, path, number, spread)


def objects_at(data: Any, path: Sequence[str]) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """The objects at a response path (lists walked into), each with its path as the
    response names it (list indices included)."""

    def walk(value: Any, depth: int, at: list[Any]) -> Iterator[tuple[list[Any], dict[str, Any]]]:
        if type(value) is list:
            for index, item in enumerate(value):
                yield from walk(item, depth, [*at, index])
            return
        if type(value) is not dict:
            return
        if depth == len(path):
            yield at, value
            return
        key = path[depth]
        yield from walk(value.get(key), depth + 1, [*at, key])

    yield from walk(data, 0, [])


def null_error(path: list[Any]) -> dict[str, Any]:
    """A deferred part whose value broke a non-null promise (its data is then null)."""
    return dict(
        GraphQLError("a non-null field of this deferred fragment has no value", path=path).formatted
    )
