"""A query plan is data: fetches to subgraphs, each with the fetches that depend on it.

`Fetch` nodes of a query's root run in parallel, a mutation's root fetches in sequence;
children of a fetch run (in parallel) once it has answered. An entity fetch reads the objects
found at `path` in the merged response, sends their representations to `_entities`, and
merges the answers back into those objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ContextBinding", "Fetch", "KeyField", "QueryPlan", "conflict_alias", "internal_alias"]

INTERNAL_PREFIX = "_fed_"


def internal_alias(field_name: str) -> str:
    """Fields the planner adds for itself (keys, required fields) travel under their own
    aliases, so they never collide with what the client asked for."""
    return INTERNAL_PREFIX + field_name


def conflict_alias(key: str, type_name: str) -> str:
    """Where a field travels when its key, on this type, conflicts with a sibling's."""
    return f"{INTERNAL_PREFIX}{key}__{type_name}"


@dataclass(frozen=True)
class KeyField:
    """One field of a representation: read from the object under `alias`, sent as `name`."""

    name: str
    alias: str
    children: tuple[KeyField, ...] = ()
    nullable: bool = False  # a @requires field may be null; a key field may not
    # set for fields under a type condition: the __typenames the field is sent for
    only_for: frozenset[str] | None = None


@dataclass(frozen=True)
class ContextBinding:
    """A variable of an entity fetch whose value comes from an ancestor of each object
    (`@fromContext`): `field` read on the object `depth` keys down the response path.
    Objects whose values differ are sent in separate calls."""

    variable: str
    type: str
    depth: int
    field: KeyField


@dataclass
class Fetch:
    graph: str
    operation: str
    variables: tuple[str, ...] = ()
    entity_type: str | None = None  # set for `_entities` fetches; the representations' type
    path: tuple[str, ...] = ()
    accepts: tuple[str, ...] = ()  # __typenames of the objects at `path` this fetch is for
    representation: tuple[KeyField, ...] = ()
    children: list[Fetch] = field(default_factory=list)
    # Beyond its parent, the fetches whose answers this one reads (the parts of a key or of
    # a requirement that other subgraphs give): it runs after all of them. By `id`.
    id: int = 0
    after: tuple[int, ...] = ()
    context: tuple[ContextBinding, ...] = ()  # variables taken from ancestors
    group: int = 0  # the deferred fragment it is fetched for (0: the first payload)
    # An entity fetch's parts, as printed into `operation`: what goes under `_entities`
    # (`... on T { ... }`) and the client's variables it declares (name, definition), so
    # merging fetches into one request is joining strings, not parsing operations again.
    entity_selection: str = ""
    declared: tuple[tuple[str, str], ...] = ()
    # the executor's: its representation fields, and its entity type and their names when
    # all are plain (executor._plain_table), worked out once, on the first run
    plain_table: tuple[tuple[KeyField, ...], tuple[str, ...] | None] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def describe(self, indent: int = 0) -> str:
        pad = "  " * indent
        head = (
            f"{pad}Fetch({self.graph}"
            + (
                f", entities {self.entity_type} at {'.'.join(self.path) or '<root>'}"
                if self.entity_type
                else ""
            )
            + (f", #{self.id} after #{', #'.join(map(str, self.after))}" if self.after else "")
            + (f", deferred #{self.group}" if self.group else "")
            + ")"
        )
        body = "\n".join(pad + "  " + line for line in self.operation.splitlines())
        children = "".join("\n" + child.describe(indent + 1) for child in self.children)
        return f"{head}\n{body}{children}"


@dataclass
class QueryPlan:
    kind: str  # "query" | "mutation" | "subscription" (its root fetch is the event stream)
    fetches: list[Fetch]

    def describe(self) -> str:
        mode = "Sequence" if self.kind == "mutation" else "Parallel"
        return f"{mode}:\n" + "\n".join(f.describe(1) for f in self.fetches)
