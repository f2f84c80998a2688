"""@skip and @include, decided while planning: a field the client excludes costs no fetch.

A plan then depends on the values of the variables those directives use, so plans are
cached per document, operation and those values (usually none, or one boolean)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import BooleanValueNode, DocumentNode, VariableNode, visit
from graphql.language import DirectiveNode, Visitor

__all__ = ["condition_variables", "included"]

_CONDITIONS = ("skip", "include")


def _condition(directive: DirectiveNode, variables: Mapping[str, Any]) -> bool | None:
    for argument in directive.arguments or ():
        if argument.name.value != "if":
            continue
        value = argument.value
        if isinstance(value, BooleanValueNode):
            return value.value
        if isinstance(value, VariableNode):
            return bool(variables.get(value.name.value))
    return None


def included(node: Any, variables: Mapping[str, Any]) -> bool:
    """The spec's rule: excluded when @skip(if: true) or @include(if: false)."""
    for directive in getattr(node, "directives", None) or ():
        name = directive.name.value
        if name in _CONDITIONS:
            value = _condition(directive, variables)
            if value is None:
                continue
            if (name == "skip" and value) or (name == "include" and not value):
                return False
    return True


def condition_variables(document: DocumentNode) -> frozenset[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: object) -> None:
            if node.name.value in _CONDITIONS:
                for argument in node.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)

    visit(document, Collect())
    return frozenset(names)
