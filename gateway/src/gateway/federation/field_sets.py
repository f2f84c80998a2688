"""The field sets of the join directives (a key's `id pid`, a @requires' `price(currency:
"USD") weight`, a @provides' `author { name }`, a context's `{ currency }`), parsed once
when the supergraph is loaded: the planner works on nodes, never on strings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from graphql import (
    FieldNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    parse,
)

__all__ = ["NOTHING", "FieldSet", "FieldSetError", "Provided"]


class FieldSetError(ValueError):
    """A field set that does not parse as a selection."""


@dataclass(frozen=True)
class Provided:
    """What a @provides lets a subgraph answer below a field: fields by name (each with what
    is provided below it) and, under type conditions, fields only on objects of a type."""

    fields: Mapping[str, Provided] = field(default_factory=dict)
    on_types: Mapping[str, Provided] = field(default_factory=dict)

    def has(self, field_name: str, type_name: str) -> bool:
        on_type = self.on_types.get(type_name)
        return field_name in self.fields or (on_type is not None and field_name in on_type.fields)

    def below(self, field_name: str, type_name: str) -> Provided:
        found = self.fields.get(field_name)
        if found is None:
            on_type = self.on_types.get(type_name)
            found = on_type.fields.get(field_name) if on_type is not None else None
        return found if found is not None else NOTHING

    @classmethod
    def of(cls, selections: Iterable[SelectionNode]) -> Provided:
        """`a { b ... on T { c } }` as fields {a: fields {b}, on_types {T: fields {c}}}."""
        fields: dict[str, Provided] = {}
        on_types: dict[str, Provided] = {}
        for selection in selections:
            if isinstance(selection, FieldNode):
                inner = selection.selection_set.selections if selection.selection_set else ()
                fields[selection.name.value] = cls.of(inner)
            elif isinstance(selection, InlineFragmentNode):
                inner_tree = cls.of(selection.selection_set.selections)
                condition = selection.type_condition
                if condition is None:
                    fields.update(inner_tree.fields)
                    on_types.update(inner_tree.on_types)
                else:
                    known = on_types.get(condition.name.value, NOTHING)
                    on_types[condition.name.value] = Provided(
                        {**known.fields, **inner_tree.fields},
                        {**known.on_types, **inner_tree.on_types},
                    )
        return cls(fields, on_types)


NOTHING = Provided()


@dataclass(frozen=True)
class FieldSet:
    text: str
    selections: tuple[SelectionNode, ...]

    @classmethod
    def parse(cls, text: str) -> FieldSet:
        """A field set as the join directives write it, without the outer braces (a
        context's selection `{ currency }` may have them)."""
        inner = text.strip()
        if inner.startswith("{") and inner.endswith("}"):
            inner = inner[1:-1]
        try:
            document = parse(f"{{ {inner} }}", no_location=True)
        except GraphQLError as error:
            raise FieldSetError(f"not a field set: {text!r}: {error}") from None
        operation = document.definitions[0]
        assert isinstance(operation, OperationDefinitionNode)
        return cls(text, tuple(operation.selection_set.selections))

    @cached_property
    def fields(self) -> tuple[FieldNode, ...]:
        """The top-level fields (a key's or a requirement's)."""
        return tuple(s for s in self.selections if isinstance(s, FieldNode))

    @cached_property
    def provided(self) -> Provided:
        return Provided.of(self.selections)
