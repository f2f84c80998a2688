"""Operation limits, checked once per document before anything is planned or sent: how many
tokens the parser may read, how deep the selections go, how many aliases, root fields and
fields (fragments expanded) an operation may have, and how many fields one selection set
may hold once the fragments spread in it are merged in (graphql-core's validation compares
the fields of one selection set pairwise: 700 `...{ name }` took 0.4 s). A client's
operation beyond one of them is refused with a 400 whose `extensions.code` names the limit.
Its cost depends on the variables a request sends: measured per request (federation/cost.py),
against `max_cost`.

Fragments are measured once each (memoized), so a document that spreads fragments into
fragments costs linear time to measure, however large its expansion would be."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

__all__ = ["OperationLimits", "cost_limit_error", "limit_errors", "token_limit_error"]


@dataclass(frozen=True)
class OperationLimits:
    # graphql-armor and Hive Gateway default to 1,000; validation takes about 25 us a token
    max_tokens: int = 4_000
    max_depth: int = 25
    max_aliases: int = 30
    max_root_fields: int = 30
    max_fields: int = 2_000  # every field, fragments expanded: the work one request can ask
    # in one selection set, its fragments merged in: a type has a few dozen fields, and an
    # operation at most `max_aliases` aliases
    max_selection_fields: int = 100
    # the most one request may cost (federation/cost.py): no more than a client's whole
    # budget holds (federation/budget.py), or it could never run
    max_cost: int = 1_000
    # a list whose size neither the schema (@listSize) nor the request says (as Apollo
    # Router's documented `list_size`); every list of our own supergraph declares its size
    assumed_list_size: int = 10


@dataclass(frozen=True)
class _Size:
    """What a selection set asks, fragments expanded: depth, aliases, fields; its width
    (fields at its own level, fragments merged in) and the widest selection set below."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0
    width: int = 0
    widest: int = 0


class _Measure:
    """One walk over an operation; fragments measured once each."""

    def __init__(
        self, document: DocumentNode, operation: OperationDefinitionNode, limits: OperationLimits
    ) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        # counts stop growing past these: big enough to refuse, no bigger
        self.cap = max(limits.max_fields, limits.max_depth, limits.max_selection_fields) + 1
        self.sizes: dict[str, _Size] = {}

    def selections(self, selection_set: SelectionSetNode, visiting: frozenset[str]) -> _Size:
        # plain ints, one _Size per selection set: a 3,000-field document made four _Size
        # objects a field
        cap = self.cap
        depth = aliases = fields = width = widest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                aliased = 1 if selection.alias else 0
                if selection.selection_set:
                    below = self.selections(selection.selection_set, visiting)
                    depth = max(depth, below.depth + 1)
                    aliases += below.aliases + aliased
                    fields += below.fields + 1
                    widest = max(widest, below.widest, below.width)
                else:
                    depth = max(depth, 1)
                    aliases += aliased
                    fields += 1
                width += 1
            else:
                if isinstance(selection, InlineFragmentNode):
                    inner = self.selections(selection.selection_set, visiting)
                else:
                    assert isinstance(selection, FragmentSpreadNode)
                    inner = self.fragment(selection.name.value, visiting)
                depth = max(depth, inner.depth)
                aliases += inner.aliases
                fields += inner.fields
                width += inner.width
                widest = max(widest, inner.widest)
            depth, aliases = min(depth, cap), min(aliases, cap)
            fields, width = min(fields, cap), min(width, cap)
        return _Size(depth, aliases, fields, width, widest)

    def fragment(self, name: str, visiting: frozenset[str]) -> _Size:
        size = self.sizes.get(name)
        if size is None:
            fragment = self.fragments.get(name)
            if fragment is None or name in visiting:  # validation reports these
                return _Size()
            size = self.sizes[name] = self.selections(fragment.selection_set, visiting | {name})
        return size

    def root_fields(self, selection_set: SelectionSetNode, visiting: frozenset[str]) -> int:
        count = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                count += 1
            elif isinstance(selection, InlineFragmentNode):
                count += self.root_fields(selection.selection_set, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in visiting:
                    count += self.root_fields(fragment.selection_set, visiting | {name})
            if count > self.cap:
                break
        return count


def limit_errors(
    document: DocumentNode, operation: OperationDefinitionNode, limits: OperationLimits
) -> list[dict[str, Any]]:
    """The limits this operation passes over, as GraphQL errors (empty when none)."""
    measure = _Measure(document, operation, limits)
    size = measure.selections(operation.selection_set, frozenset())
    root_fields = measure.root_fields(operation.selection_set, frozenset())
    checks = [
        (size.depth, limits.max_depth, "MAX_DEPTH_EXCEEDED", "selections nested"),
        (size.aliases, limits.max_aliases, "MAX_ALIASES_EXCEEDED", "aliases"),
        (root_fields, limits.max_root_fields, "MAX_ROOT_FIELDS_EXCEEDED", "root fields"),
        (size.fields, limits.max_fields, "MAX_FIELDS_EXCEEDED", "fields, fragments expanded"),
        (
            max(size.width, size.widest),
            limits.max_selection_fields,
            "MAX_SELECTION_FIELDS_EXCEEDED",
            "fields in one selection set, its fragments merged in",
        ),
    ]
    return [
        {
            "message": f"the operation is over a limit: at most {limit} {what}",
            "extensions": {"code": code},
        }
        for found, limit, code, what in checks
        if found > limit
    ]


def token_limit_error(limits: OperationLimits) -> dict[str, Any]:
    return {
        "message": f"the document has more than {limits.max_tokens} tokens",
        "extensions": {"code": "MAX_TOKENS_EXCEEDED"},
    }


def cost_limit_error(limits: OperationLimits, cost: int) -> dict[str, Any]:
    return {
        "message": f"the operation is over a limit: it costs {cost}, at most {limits.max_cost}"
        " cost units (see GATEWAY_MAX_COST)",
        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": limits.max_cost},
    }
