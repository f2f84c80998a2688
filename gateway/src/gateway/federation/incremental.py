"""The payloads of an incrementally delivered answer (@defer), in the shape Apollo Router
sends them (`deferSpec=20220824`): the first `{"data", "hasNext": true}`, then for each
deferred part `{"incremental": [{"data", "path", "label"?, "errors"?}], "hasNext"}`, one
entry per object the fragment is selected on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode, SelectionSetNode

from gateway.federation.defer import (
    DeferredFragment,
    null_error,
    objects_at,
    primary_document,
    without_deferred,
)
from gateway.federation.shaping import FragmentShape

__all__ = ["Deferral", "DeferredPart"]

Json = dict[str, Any]


@dataclass(frozen=True)
class DeferredPart:
    fragment: DeferredFragment
    shape: FragmentShape

    def payload(self, data: Json, errors: list[Json]) -> list[Json]:
        """The part's `incremental` entries: one per object at its path that the fragment
        applies to; each error goes with the entry its path is under."""
        fragment = self.fragment
        entries: list[Json] = []
        for path, value in objects_at(data, fragment.path):
            shaped = self.shape.shape(value)
            if shaped == {}:
                continue  # the fragment's type condition leaves this object out
            entry: Json = {"data": shaped, "path": path}
            if fragment.label is not None:
                entry["label"] = fragment.label
            entries.append(entry)
        for error in errors:
            at = error.get("path") or []
            owner = next((e for e in entries if at[: len(e["path"])] == e["path"]), None)
            if owner is None:
                if not entries:  # nothing at the path: the errors still reach the client
                    entries.append({"data": None, "path": list(fragment.path)})
                    if fragment.label is not None:
                        entries[0]["label"] = fragment.label
                owner = entries[0]
            owner.setdefault("errors", []).append(error)
        for entry in entries:
            if entry["data"] is None and not entry.get("errors"):
                entry["errors"] = [null_error(entry["path"])]
        return entries


@dataclass(frozen=True)
class Deferral:
    """How an operation with active deferred fragments is delivered, made once per plan:
    the document of its first payload and each deferred part, parents first."""

    document: DocumentNode
    operation: OperationDefinitionNode
    parts: tuple[DeferredPart, ...]

    @classmethod
    def compile(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        fragments: list[DeferredFragment],
        variables: Mapping[str, Any],
    ) -> Deferral:
        primary = primary_document(document, variables)
        index = list(document.definitions).index(operation)
        primary_operation = primary.definitions[index]
        assert isinstance(primary_operation, OperationDefinitionNode)
        parts = []
        for fragment in fragments:
            selection_set = without_deferred(fragment.selection_set, variables)
            assert isinstance(selection_set, SelectionSetNode)
            shape = FragmentShape(schema, primary, fragment.parent_type, selection_set, variables)
            parts.append(DeferredPart(fragment, shape))
        return cls(primary, primary_operation, tuple(parts))

    def order(self) -> list[tuple[int, int]]:
        """(id, parent id) of each part, parents first."""
        return [(part.fragment.id, part.fragment.parent) for part in self.parts]

    def part(self, number: int) -> DeferredPart:
        return self.parts[number - 1]
