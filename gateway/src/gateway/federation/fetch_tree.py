"""The fetch tree as the planner builds it: one FetchBuilder per subgraph request (a root
fetch, or an entity fetch at a path), the representation each entity fetch sends, which
fetches it waits for; and, once the walk is done, the plan data it becomes (`finish`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from graphql import ArgumentNode, FieldNode, VariableDefinitionNode, print_ast, visit
from graphql.language import Visitor

from gateway.federation.field_sets import NOTHING, Provided
from gateway.federation.plan import ContextBinding, Fetch, KeyField, QueryPlan, internal_alias
from gateway.federation.selection import Selection

__all__ = [
    "FetchBuilder",
    "Position",
    "Step",
    "conflicting",
    "covered",
    "finish",
    "merged",
    "release",
    "requirement_alias",
]


class Position(NamedTuple):
    """Where the walk is in the fetch tree: the fetch being built, the selection its fields
    go into, the response path of the objects there, and what a @provides above lets the
    fetch's subgraph answer. (A named tuple: the walk makes one per field with a selection,
    and a frozen dataclass sets each field through object.__setattr__.)"""

    fetch: FetchBuilder
    target: Selection
    path: tuple[str, ...] = ()
    provided: Provided = NOTHING

    def into(self, target: Selection) -> Position:
        """The same objects, fields going into another selection (a type condition)."""
        return self._replace(target=target)


class Step(NamedTuple):
    """A field the walk went through: its parent type and where it was selected."""

    type_name: str
    node: FieldNode
    at: Position


@dataclass
class FetchBuilder:
    graph: str
    root: Selection
    entity_type: str | None = None
    path: tuple[str, ...] = ()
    representation: tuple[KeyField, ...] = ()
    accepts: set[str] = field(default_factory=set)
    children: list[FetchBuilder] = field(default_factory=list)
    parent: FetchBuilder | None = field(default=None, repr=False, compare=False)
    context: tuple[ContextBinding, ...] = ()  # variables taken from ancestors
    # fetches beyond the parent whose answers this one reads (parts of its key or of its
    # requirements that other subgraphs give)
    after: list[FetchBuilder] = field(default_factory=list, repr=False, compare=False)
    # the deferred fragment whose fetches it belongs to (0: the first payload's); a fetch
    # only joins fetches of its own group, so a deferred part never holds up another
    group: int = 0
    # its children by (graph, entity type, path, group), in order: where entity_child
    # looks for one to join, without going through them all
    by_place: dict[tuple[str, str, tuple[str, ...], int], list[FetchBuilder]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def lineage(self) -> Iterable[FetchBuilder]:
        """This fetch and the fetches it descends from."""
        builder: FetchBuilder | None = self
        while builder is not None:
            yield builder
            builder = builder.parent

    def follows(self, needed: Iterable[FetchBuilder]) -> None:
        for other in needed:
            if other is not self and other is not self.parent and other not in self.after:
                self.after.append(other)

    def entity_child(
        self,
        graph: str,
        type_name: str,
        path: tuple[str, ...],
        representation: tuple[KeyField, ...],
        touched: list[FetchBuilder],
        accepts: Iterable[str] = (),
        dedicated: bool = False,
        needed: Sequence[FetchBuilder] = (),
        group: int = 0,
    ) -> FetchBuilder:
        """The child fetch into `graph` for `type_name` objects at `path`: an existing one
        when it can carry more, else a new one (`dedicated`: always a new one). `needed`:
        the fetches the caller's key or requirements come from; a fetch that is one of them,
        or leads to one, cannot also wait for them."""
        wanted = set(accepts) or {type_name}
        place = (graph, type_name, path, group)
        if not dedicated:
            blocked = (
                {id(ancestor) for other in needed for ancestor in other.lineage()} if needed else ()
            )
            for child in self.by_place.get(place, ()):
                if (
                    id(child) not in blocked
                    and not child.context
                    and not conflicting(child.representation, representation)
                ):
                    child.accepts |= wanted
                    touched.append(child)
                    return child
        child = FetchBuilder(
            graph=graph,
            root=Selection(),
            entity_type=type_name,
            path=path,
            representation=representation,
            accepts=wanted,
            parent=self,
            group=group,
        )
        self.children.append(child)
        self.by_place.setdefault(place, []).append(child)
        touched.append(child)
        return child


# -- representations ---------------------------------------------------------------------
def covered(fields: Sequence[KeyField], nodes: Iterable[FieldNode]) -> tuple[KeyField, ...] | None:
    """The representation fields a key's field set names, if all are there."""
    out = []
    for node in nodes:
        found = next((f for f in fields if f.name == node.name.value and f.only_for is None), None)
        if found is None:
            return None
        if node.selection_set is not None:
            inner = [s for s in node.selection_set.selections if isinstance(s, FieldNode)]
            children = covered(found.children, inner)
            if children is None:
                return None
            found = replace(found, children=children)
        out.append(found)
    return tuple(out)


class _ArgumentTexts(Visitor):
    """Every argument under a node, printed, in the order visit() meets them. (A class of
    its own: one defined inside the function was a new class per call, and a class refers
    to itself, so each was garbage for a collection to find.)"""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def enter_argument(self, argument: ArgumentNode, *_: object) -> None:
        self.texts.append(print_ast(argument))


def requirement_alias(node: FieldNode) -> str:
    """Where a required field travels. Two requirements of one field with different
    arguments (`price(currency: "USD")`, `price(currency: "EUR")`) are different values, so
    arguments anywhere in the selection make their own alias."""
    collect = _ArgumentTexts()
    visit(node, collect)
    arguments = collect.texts
    if not arguments:
        return internal_alias(node.name.value)
    digest = hashlib.sha256(" ".join(arguments).encode()).hexdigest()[:8]
    return internal_alias(f"{node.name.value}_{digest}")


def conflicting(known: Iterable[KeyField], more: Iterable[KeyField]) -> bool:
    """Representations that would send one field name with two different values (two
    requirements of `price` with different arguments): they need separate entity fetches."""
    aliases = {(key_field.name, key_field.only_for): key_field.alias for key_field in known}
    return any(
        aliases.get((key_field.name, key_field.only_for), key_field.alias) != key_field.alias
        for key_field in more
    )


def merged(known: tuple[KeyField, ...], more: Iterable[KeyField]) -> tuple[KeyField, ...]:
    """Representation fields of one fetch, several requirements' selections merged."""
    fields = list(known)
    for extra in more:
        for index, existing in enumerate(fields):
            if (existing.alias, existing.only_for) == (extra.alias, extra.only_for):
                if extra.children:
                    children = merged(existing.children, extra.children)
                    fields[index] = replace(existing, children=children)
                break
        else:
            fields.append(extra)
    return tuple(fields)


# -- the finished plan -------------------------------------------------------------------
def finish(
    roots: Sequence[FetchBuilder],
    kind: str,
    variable_definitions: Mapping[str, VariableDefinitionNode],
) -> QueryPlan:
    """The fetch tree as plan data: each fetch's operation printed, with the client's
    variables it uses declared, and fetches numbered so one can name those it follows."""
    numbers: dict[int, int] = {}
    pending = list(reversed(roots))
    while pending:
        builder = pending.pop()
        numbers[id(builder)] = len(numbers)
        pending += reversed(builder.children)
    declared = _Declared(variable_definitions)
    return QueryPlan(kind=kind, fetches=[_fetch(b, kind, numbers, declared) for b in roots])


class _Declared:
    """The client's variable definitions, each printed once for all the fetches that use
    it (a variable under @skip can be used by hundreds)."""

    def __init__(self, definitions: Mapping[str, VariableDefinitionNode]) -> None:
        self.definitions = definitions
        self.names = frozenset(definitions)
        self._printed: dict[str, str] = {}

    def printed(self, name: str) -> str:
        text = self._printed.get(name)
        if text is None:
            text = self._printed[name] = print_ast(self.definitions[name])
        return text


def release(roots: Sequence[FetchBuilder]) -> None:
    """The fetch tree let go of once its plan is made: a fetch and its parent refer to each
    other, so the tree (with every selection and item the walk made, thousands for a
    large document) would otherwise wait for a garbage collection to walk it and find it
    dead; unlinked, it is freed as the planner lets go of it."""
    pending = list(roots)
    while pending:
        builder = pending.pop()
        builder.parent = None
        builder.after = []
        pending += builder.children


def _fetch(
    builder: FetchBuilder,
    kind: str,
    numbers: dict[int, int],
    variables: _Declared,
) -> Fetch:
    # the client's variables it uses (none to look for in an operation that declares none)
    used = sorted(builder.root.variables() & variables.names) if variables.names else []
    declared = [variables.printed(name) for name in used]
    selection = builder.root.print()
    entity_selection = ""
    if builder.entity_type is None:
        definitions = " ".join(declared)
        operation = (
            f"{kind}({definitions}) {{ {selection} }}"
            if definitions
            else (f"{kind} {{ {selection} }}")
        )
    else:
        definitions = " ".join(
            [
                "$representations: [_Any!]!",
                *declared,
                *(f"${b.variable}: {b.type}" for b in builder.context),
            ]
        )
        entity_selection = f"... on {builder.entity_type} {{ {selection} }}"
        operation = (
            f"query({definitions}) {{ _entities(representations: $representations)"
            f" {{ {entity_selection} }} }}"
        )
    return Fetch(
        graph=builder.graph,
        operation=operation,
        variables=tuple(used),
        entity_type=builder.entity_type,
        path=builder.path,
        representation=builder.representation,
        accepts=tuple(sorted(builder.accepts)),
        children=[_fetch(child, "query", numbers, variables) for child in builder.children],
        id=numbers[id(builder)],
        after=tuple(sorted([numbers[id(other)] for other in builder.after]))
        if builder.after
        else (),
        context=builder.context,
        group=builder.group,
        entity_selection=entity_selection,
        declared=tuple(zip(used, declared, strict=True)) if used else (),
    )
