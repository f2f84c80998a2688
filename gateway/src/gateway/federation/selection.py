"""The selection set of one subgraph request, as the planner builds it: fields by response
key, inline fragments by their type condition, each remembering the client's node it came
from (for its variables and for separating conflicts). Printed once, when the plan is
finished."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from graphql import (
    DirectiveNode,
    FieldNode,
    ListValueNode,
    NameNode,
    ObjectValueNode,
    ValueNode,
    VariableNode,
    print_ast,
)

from gateway.federation.plan import conflict_alias

__all__ = ["Item", "OnType", "Selection", "head"]


@dataclass(frozen=True)
class OnType:
    """The key of an inline fragment: its type condition (None: the enclosing type, with
    directives only) and its directives as printed."""

    type_name: str | None
    directives: str = ""


Key = str | OnType  # a response key, or an inline fragment


class Item:
    """One entry of a selection: a field (its text as printed, the node it came from) or
    an inline fragment, with the selection under it. A leaf has none until something asks
    for it: most items are leaves, and an empty selection each was a third of the objects
    the walk made."""

    __slots__ = ("_sub", "directives", "leaf", "node", "text", "type_text")

    def __init__(
        self,
        text: str,
        node: FieldNode | None = None,
        leaf: bool = False,
        type_text: str = "",
        directives: Sequence[DirectiveNode] = (),
    ) -> None:
        self.text = text
        self.node = node  # the client's (or a requirement's) field it selects
        self.leaf = leaf
        self.type_text = type_text  # the field's type in the subgraph, for conflicts
        self.directives = directives  # an inline fragment's, for their variables
        self._sub: Selection | None = None if leaf else Selection()

    @property
    def sub(self) -> Selection:
        if self._sub is None:
            self._sub = Selection()
        return self._sub

    @property
    def has_selection(self) -> bool:
        """Whether anything is selected under it (never for a leaf as built)."""
        return self._sub is not None and bool(self._sub.items)

    def __eq__(self, other: object) -> bool:  # as a dataclass's: field by field
        if not isinstance(other, Item):
            return NotImplemented
        return (self.text, self.node, self.leaf, self.type_text, self.directives) == (
            other.text,
            other.node,
            other.leaf,
            other.type_text,
            other.directives,
        ) and self._selected() == other._selected()

    __hash__ = None  # type: ignore[assignment]  # mutable, as before

    def _selected(self) -> dict[Key, Item]:
        return self._sub.items if self._sub is not None else {}


class Selection:
    __slots__ = ("items", "typed")

    def __init__(self) -> None:
        self.items: dict[Key, Item] = {}
        self.typed = False  # whether it has a fragment with a type condition

    def __eq__(self, other: object) -> bool:  # as a dataclass's
        if not isinstance(other, Selection):
            return NotImplemented
        return self.items == other.items

    __hash__ = None  # type: ignore[assignment]

    def field(
        self, key: str, text: str, node: FieldNode | None = None, type_text: str = ""
    ) -> Selection:
        item = self.items.get(key)
        if item is None:
            item = self.items[key] = Item(text, node, False, type_text)
        return item.sub

    def leaf(self, key: str, text: str, node: FieldNode | None = None, type_text: str = "") -> None:
        items = self.items
        if key not in items:  # the first selection of a key stays (setdefault's rule)
            items[key] = Item(text, node, True, type_text)

    def on_type(self, type_name: str | None, directives: Sequence[DirectiveNode] = ()) -> Selection:
        """An inline fragment (`... on T @include(if: $x)`), one per condition."""
        printed = " ".join(print_ast(d) for d in directives)
        key = OnType(type_name, printed)
        item = self.items.get(key)
        if item is None:
            condition = f"on {type_name} " if type_name else ""
            self.typed = self.typed or type_name is not None
            item = self.items[key] = Item(
                text=f"... {condition}{printed}".rstrip(), directives=tuple(directives)
            )
        return item.sub

    def print(self) -> str:
        """The selection as a subgraph request writes it. Type conditions side by side may
        select one response key with different types (`... on User { id }` ID!, `... on
        Admin { id }` ID): invalid in one query, so later ones travel under
        `_fed_<key>__<Type>`, which the shaping reads back. Each level renames them in the
        type conditions right under it before printing them (renaming reads no text, so
        the order of levels does not matter), in the one walk that prints."""
        self._separate_conflicts()
        parts = []
        for item in self.items.values():
            if item.leaf:
                parts.append(item.text)
            elif item.has_selection:
                parts.append(f"{item.text} {{ {item.sub.print()} }}")
            else:
                parts.append(f"{item.text} {{ __typename }}")
        return " ".join(parts)

    def _separate_conflicts(self) -> None:
        if not self.typed:
            return
        seen: dict[str, str] | None = None
        for key, item in self.items.items():
            if isinstance(key, OnType) and key.type_name is not None and item.has_selection:
                if seen is None:
                    seen = {}
                for inner_key, inner in item.sub.items.items():
                    if inner.node is None or not inner.type_text or isinstance(inner_key, OnType):
                        continue
                    first = seen.setdefault(inner_key, inner.type_text)
                    if first != inner.type_text:
                        inner.text = head(inner.node, conflict_alias(inner_key, key.type_name))

    def variables(self) -> set[str]:
        """The variables its fields' arguments and its directives use."""
        names: set[str] = set()
        for item in self.items.values():
            if item.node is not None:
                for argument in item.node.arguments or ():
                    _collect(argument.value, names)
                _directive_variables(item.node.directives or (), names)
            _directive_variables(item.directives, names)
            if item.has_selection:
                names |= item.sub.variables()
        return names


def _directive_variables(directives: Iterable[DirectiveNode], names: set[str]) -> None:
    for directive in directives:
        for argument in directive.arguments or ():
            _collect(argument.value, names)


def _collect(value: ValueNode, names: set[str]) -> None:
    if isinstance(value, VariableNode):
        names.add(value.name.value)
    elif isinstance(value, ListValueNode):
        for item in value.values:
            _collect(item, names)
    elif isinstance(value, ObjectValueNode):
        for entry in value.fields:
            _collect(entry.value, names)


def head(node: FieldNode, alias: str | None = None) -> str:
    """`alias: name(arguments) @directives`: a field as selected, without its children."""
    if not node.arguments and not node.directives:  # most fields: no printer needed
        shown = alias or (node.alias.value if node.alias else None)
        return f"{shown}: {node.name.value}" if shown else node.name.value
    return print_ast(
        FieldNode(
            alias=NameNode(value=alias) if alias else node.alias,
            name=node.name,
            arguments=node.arguments,
            directives=node.directives,
        )
    )
