"""Which object types an abstract-typed position of the response may hold, as the query
planners of the federation's reference implementations decide it.

A position can be answered by more than one subgraph: a @shareable field, below an entity
any subgraph with a key can reach, or below a shareable value type. @shareable promises the
same value whichever of them answers, so the position can only hold an object type that
every one of them can return: a union member (or implementation) that only some of them
declare is one the others could never send, and the planner may pick any of them. A type
condition outside that intersection is not satisfiable there: its fields are not fetched,
and an object of that type that a subgraph sends anyway keeps its `__typename` with its
fragment's fields null. Apollo's planner does the same (a type condition that one of the
candidate paths cannot take ends the branch), as do Apollo Router and Hive Router; the
federation audit's `partial-union-complex` suite expects it.

Tracked per response path while the planner walks: the subgraphs that may answer the
objects there (their origins), and for an abstract position the types all of them allow."""

from __future__ import annotations

from gateway.federation.supergraph import Supergraph

__all__ = ["PositionTypes"]

Path = tuple[str, ...]


class PositionTypes:
    def __init__(self, supergraph: Supergraph) -> None:
        self.supergraph = supergraph
        self._origins: dict[Path, frozenset[str]] = {}
        self._allowed: dict[Path, frozenset[str]] = {}
        self._tracked = supergraph.has_abstract_types

    def enter(
        self, parent_type: str, field_name: str, return_type: str, path: Path, graph: str
    ) -> None:
        """The walk selects `parent_type.field_name` in `graph`, at response path `path`
        (the field's own); `return_type` is its supergraph type, named. Without an
        interface or union in the supergraph, no position is abstract: nothing to track."""
        if not self._tracked:
            return
        parent = self.supergraph.types.get(parent_type)
        info = parent.fields.get(field_name) if parent is not None else None
        if parent is None or info is None:
            return
        if len(path) == 1:  # a root field: every subgraph has the root types
            reachable = frozenset(self.supergraph.subgraphs)
        else:
            reachable = self._origins.get(path[:-1], frozenset({graph}))
            # an entity is reachable from any subgraph that has a key for it
            reachable |= frozenset(parent.keys)
        origins = (frozenset(info.graphs) & reachable) | {graph}
        # one response path can be two fields (aliases on different type conditions):
        # their origins together, never fewer types than either allows
        self._origins[path] = self._origins.get(path, frozenset()) | origins
        allowed = self._allowed_types(info.types, return_type, self._origins[path])
        if allowed is not None:
            self._allowed[path] = self._allowed.get(path, frozenset()) | allowed

    def allows(self, path: Path, concrete: str) -> bool:
        """Whether the abstract position at `path` may hold an object of type `concrete`."""
        allowed = self._allowed.get(path)
        return allowed is None or concrete in allowed

    def _allowed_types(
        self, local_types: dict[str, str], return_type: str, origins: frozenset[str]
    ) -> frozenset[str] | None:
        returned = self.supergraph.types.get(return_type)
        if returned is None or returned.kind not in ("interface", "union") or len(origins) < 2:
            return None
        allowed: frozenset[str] | None = None
        for graph in origins:
            local = local_types.get(graph, return_type)
            local_info = self.supergraph.types.get(local)
            if local_info is None or graph in local_info.interface_object_graphs:
                continue  # an @interfaceObject subgraph sends no concrete type of its own
            if local_info.kind in ("interface", "union"):
                types = frozenset(self.supergraph.possible_in(local, graph))
            else:
                types = frozenset({local})
            allowed = types if allowed is None else allowed & types
        return allowed
