"""The demand-control directives of a supergraph, read once at load: `@cost(weight:)` on
types, fields, arguments and input fields, and `@listSize(assumedSize:, slicingArguments:,
sizedFields:)` on fields, as IBM's cost specification defines them and Apollo Router's
demand control reads them (https://ibm.github.io/graphql-specs/cost-spec.html)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    value_from_ast_untyped,
)

__all__ = ["DemandWeights", "ListSize"]

# the names composition gives them: imported (`@cost`), or prefixed by their spec
_COST = frozenset({"cost", "cost__cost", "federation__cost"})
_LIST_SIZE = frozenset({"listSize", "cost__listSize", "federation__listSize"})

_WITH_FIELDS = (
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
)
_INPUTS = (InputObjectTypeDefinitionNode, InputObjectTypeExtensionNode)


@dataclass(frozen=True)
class ListSize:
    """How many items a list field returns: the largest of its slicing arguments' values,
    else `assumed_size`. With `sized_fields`, the size is that of those child fields (a
    page's `items`), not of the field itself."""

    assumed_size: int | None = None
    slicing_arguments: tuple[str, ...] = ()
    sized_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemandWeights:
    types: Mapping[str, int] = field(default_factory=dict)
    fields: Mapping[tuple[str, str], int] = field(default_factory=dict)  # input fields too
    arguments: Mapping[tuple[str, str, str], int] = field(default_factory=dict)
    list_sizes: Mapping[tuple[str, str], ListSize] = field(default_factory=dict)

    @classmethod
    def of(cls, document: DocumentNode) -> DemandWeights:
        types: dict[str, int] = {}
        fields: dict[tuple[str, str], int] = {}
        arguments: dict[tuple[str, str, str], int] = {}
        list_sizes: dict[tuple[str, str], ListSize] = {}
        for definition in document.definitions:
            if not isinstance(definition, TypeDefinitionNode | TypeExtensionNode):
                continue
            name = definition.name.value
            weight = _weight(definition.directives)
            if weight is not None:
                types[name] = weight
            if isinstance(definition, _WITH_FIELDS):
                for field_node in definition.fields or ():
                    key = (name, field_node.name.value)
                    weight = _weight(field_node.directives)
                    if weight is not None:
                        fields[key] = weight
                    size = _list_size(field_node.directives)
                    if size is not None:
                        list_sizes[key] = size
                    for argument in field_node.arguments or ():
                        weight = _weight(argument.directives)
                        if weight is not None:
                            arguments[(*key, argument.name.value)] = weight
            elif isinstance(definition, _INPUTS):
                for input_field in definition.fields or ():
                    weight = _weight(input_field.directives)
                    if weight is not None:
                        fields[(name, input_field.name.value)] = weight
        return cls(types, fields, arguments, list_sizes)


def _named(
    directives: tuple[DirectiveNode, ...] | None, names: frozenset[str]
) -> dict[str, Any] | None:
    for directive in directives or ():
        if directive.name.value in names:
            return {
                argument.name.value: value_from_ast_untyped(argument.value)
                for argument in directive.arguments or ()
            }
    return None


def _weight(directives: tuple[DirectiveNode, ...] | None) -> int | None:
    arguments = _named(directives, _COST)
    if arguments is None or not isinstance(arguments.get("weight"), int):
        return None
    return int(arguments["weight"])


def _list_size(directives: tuple[DirectiveNode, ...] | None) -> ListSize | None:
    arguments = _named(directives, _LIST_SIZE)
    if arguments is None:
        return None
    assumed = arguments.get("assumedSize")
    return ListSize(
        assumed if isinstance(assumed, int) else None,
        tuple(str(a) for a in arguments.get("slicingArguments") or ()),
        tuple(str(f) for f in arguments.get("sizedFields") or ()),
    )
