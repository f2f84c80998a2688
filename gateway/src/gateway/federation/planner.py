"""Stage 3: from a validated operation to a query plan, knowing only the supergraph model.

Walks the client's selections type by type. A field the current subgraph resolves stays in
the current fetch; any other field makes (or joins) an entity fetch to a subgraph that
resolves it, keyed by a key that the current subgraph can provide, or, failing that, by a
key whose fields a third subgraph supplies first. Where no key leads to the field at all,
the walk goes back along its path to the root of a query or the nearest entity and selects
the path again in a subgraph that has the field. `@requires` selections are planned like
the client's own (under internal aliases) and read back into the representation;
`@provides` lets a subgraph answer external fields along a path; shareable fields stay
where the walk already is; abstract types are planned per object type the subgraph itself
declares. Named fragments are inlined; @skip/@include are decided while planning (the
pipeline keeps one plan per set of condition values).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_abstract_type,
    parse,
    print_ast,
    visit,
)
from graphql.language import Visitor

from gateway.federation.conditions import included
from gateway.federation.plan import (
    ContextBinding,
    Fetch,
    KeyField,
    QueryPlan,
    conflict_alias,
    internal_alias,
)
from gateway.federation.supergraph import Supergraph, TypeInfo

__all__ = ["PlanningError", "plan_operation"]


# What a @provides lets the current subgraph answer below a field: field name -> the same
# for its children; "on:Type" -> what is provided only on objects of that type.
Provided = Mapping[str, Any]
NOTHING: Provided = {}


class PlanningError(Exception):
    pass


# How many entity jumps gathering one field of a key may take (a key that needs a key that
# needs a key ...): enough for real supergraphs, and a bound on the search.
MAX_KEY_HOPS = 3


@dataclass
class Selection:
    """A selection set being built for one subgraph request."""

    items: dict[str, Item] = field(default_factory=dict)

    def field(
        self, key: str, text: str, node: FieldNode | None = None, type_text: str = ""
    ) -> Selection:
        item = self.items.get(key)
        if item is None:
            item = self.items[key] = Item(text=text, node=node, type_text=type_text)
        return item.sub

    def leaf(self, key: str, text: str, node: FieldNode | None = None, type_text: str = "") -> None:
        self.items.setdefault(key, Item(text=text, node=node, leaf=True, type_text=type_text))

    def separate_conflicts(self) -> None:
        """Type conditions side by side may select one response key with different types
        (`... on User { id }` ID!, `... on Admin { id }` ID): invalid in one query, so
        later ones travel under `_fed_<key>__<Type>`, which the shaping reads back."""
        seen: dict[str, str] = {}
        for key, item in self.items.items():
            if key.startswith("on:"):
                type_name = key.split(":")[1]
                for inner_key, inner in list(item.sub.items.items()):
                    if inner.node is None or not inner.type_text or inner_key.startswith("on:"):
                        continue
                    first = seen.setdefault(inner_key, inner.type_text)
                    if first != inner.type_text:
                        inner.text = _head(inner.node, conflict_alias(inner_key, type_name))
            item.sub.separate_conflicts()

    def print(self) -> str:
        parts = []
        for item in self.items.values():
            if item.leaf:
                parts.append(item.text)
            elif item.sub.items:
                parts.append(f"{item.text} {{ {item.sub.print()} }}")
            else:
                parts.append(f"{item.text} {{ __typename }}")
        return " ".join(parts)


@dataclass
class Item:
    text: str
    node: FieldNode | None = None
    leaf: bool = False
    type_text: str = ""  # the field's type in the subgraph, for conflicting selections
    sub: Selection = field(default_factory=Selection)


@dataclass(frozen=True)
class Step:
    """A field the walk went through: its parent type and where it was selected."""

    type_name: str
    node: FieldNode
    fetch: FetchBuilder
    target: Selection
    path: tuple[str, ...]
    provided: Provided


@dataclass(frozen=True)
class RewindRoute:
    """Where going back along the walk leads: a root fetch of `graph`, an entity fetch into
    it keyed from the fetch at `step`, or one beside that fetch keyed like it."""

    kind: str  # "root" | "entity" | "sibling"
    step: Step
    graph: str
    chain: list[Step]  # the walk from `step` on, selected again in `graph`


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
    ) -> FetchBuilder:
        """The child fetch into `graph` for `type_name` objects at `path`: an existing one
        when it can carry more, else a new one. `needed`: the fetches the caller's key or
        requirements come from; a fetch that is one of them, or leads to one, cannot also
        wait for them."""
        wanted = set(accepts) or {type_name}
        blocked = {id(ancestor) for other in needed for ancestor in other.lineage()}
        for child in () if dedicated else self.children:
            if (child.graph, child.entity_type, child.path) == (graph, type_name, path) and (
                id(child) not in blocked
                and not child.context
                and not _conflicting(child.representation, representation)
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
        )
        self.children.append(child)
        touched.append(child)
        return child


class Planner:
    def __init__(
        self,
        supergraph: Supergraph,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:
        self.supergraph = supergraph
        self.variables = variables
        self.schema: GraphQLSchema = supergraph.api_schema
        self.operation = operation
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variable_definitions = {
            v.variable.name.value: v for v in operation.variable_definitions or ()
        }
        # every entity fetch created or joined, in order: what a requirement's planning
        # touched is what the requiring fetch has to wait for
        self.touched: list[FetchBuilder] = []
        self.roots: list[FetchBuilder] = []
        self.by_graph: dict[str, FetchBuilder] = {}
        self.is_query = True
        # the fields walked from the nearest root to where planning is: where to rewind to
        self.trail: list[Step] = []
        # going back along the walk stops above this depth (see _selections)
        self.rewind_floor = 0

    # -- entry -------------------------------------------------------------------------
    def plan(self) -> QueryPlan:
        is_mutation = self.operation.operation is OperationType.MUTATION
        root_type = (
            self.supergraph.mutation_type if is_mutation else self.supergraph.query_type
        ) or "Query"
        roots = self.roots
        by_graph = self.by_graph
        self.is_query = not is_mutation
        for node in self._fields(root_type, self.operation.selection_set.selections):
            if node.name.value.startswith("__") or not included(node, self.variables):
                continue  # introspection and __typename: answered by the final shaping
            info = self.supergraph.types[root_type].fields.get(node.name.value)
            if info is None or not info.graphs:
                raise PlanningError(f"no subgraph resolves {root_type}.{node.name.value}")
            graph = self._best_graph(root_type, node, info.graphs, set(by_graph))
            if is_mutation or graph not in by_graph:
                builder = FetchBuilder(graph=graph, root=Selection())
                roots.append(builder)
                if not is_mutation:
                    by_graph[graph] = builder
            else:
                builder = by_graph[graph]
            self._field(root_type, node, builder, builder.root, (), NOTHING)
        kind = "mutation" if is_mutation else "query"
        numbers: dict[int, int] = {}
        pending = list(reversed(roots))
        while pending:
            builder = pending.pop()
            numbers[id(builder)] = len(numbers)
            pending += reversed(builder.children)
        return QueryPlan(kind=kind, fetches=[self._finish(b, kind, numbers) for b in roots])

    # -- selections --------------------------------------------------------------------
    def _fields(self, type_name: str, selections: Iterable[SelectionNode]) -> list[FieldNode]:
        """Fields selected on a concrete type, fragments flattened (root types only)."""
        out: list[FieldNode] = []
        for selection in selections:
            if not included(selection, self.variables):
                continue
            if isinstance(selection, FieldNode):
                out.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                out.extend(self._fields(type_name, selection.selection_set.selections))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                out.extend(self._fields(type_name, fragment.selection_set.selections))
        return out

    def _selections(
        self,
        type_name: str,
        selections: Sequence[SelectionNode],
        fetch: FetchBuilder,
        target: Selection,
        path: tuple[str, ...],
        provided: Provided,
    ) -> None:
        type_info = self.supergraph.types.get(type_name)
        if type_info is not None and fetch.graph in type_info.interface_object_graphs:
            self._interface_object(type_info, selections, fetch, target, path, provided)
            return
        abstract = type_info is not None and type_info.kind in ("interface", "union")
        if abstract:
            target.leaf("__typename", "__typename")
        for selection in selections:
            if not included(selection, self.variables):
                continue
            if isinstance(selection, FieldNode):
                if (
                    abstract
                    and not selection.name.value.startswith("__")
                    and not self._resolves_for_all(
                        type_name, selection.name.value, fetch.graph, provided
                    )
                ):
                    if self._through_interface_object(
                        type_name, selection, fetch, target, path, provided
                    ):
                        continue
                    # The subgraph chosen for this abstract field must answer it for every
                    # type it may return: going back to select the field again elsewhere
                    # for some of them would trust two subgraphs to return the same object
                    # (a supergraph can make that wrong; the reference planners refuse).
                    concretes = self._possible_types(type_name, fetch.graph)
                    if not concretes:
                        raise PlanningError(
                            f"{fetch.graph} cannot resolve {type_name}.{selection.name.value}:"
                            f" none of the types it may return there has it"
                        )
                    floor, self.rewind_floor = self.rewind_floor, len(self.trail)
                    try:
                        for concrete in concretes:
                            sub = target.field(f"on:{concrete}", f"... on {concrete}")
                            self._field(concrete, selection, fetch, sub, path, provided)
                    finally:
                        self.rewind_floor = floor
                    continue
                self._field(type_name, selection, fetch, target, path, provided)
            elif isinstance(selection, InlineFragmentNode | FragmentSpreadNode):
                if isinstance(selection, FragmentSpreadNode):
                    fragment = self.fragments[selection.name.value]
                    condition = fragment.type_condition.name.value
                    inner = fragment.selection_set.selections
                    directives = selection.directives
                else:
                    condition = (
                        selection.type_condition.name.value
                        if selection.type_condition
                        else type_name
                    )
                    inner = selection.selection_set.selections
                    directives = selection.directives
                self._fragment(
                    type_name, condition, inner, directives, fetch, target, path, provided
                )

    def _interface_object(
        self,
        type_info: TypeInfo,
        selections: Sequence[SelectionNode],
        fetch: FetchBuilder,
        target: Selection,
        path: tuple[str, ...],
        provided: Provided,
    ) -> None:
        """This subgraph sees the interface as an object (@interfaceObject): it answers its
        own fields, and the interface's owner answers the real __typename and the rest.
        When nothing selected needs the concrete type (no __typename, no type condition,
        no field of another subgraph), this subgraph answers alone and the response is
        shaped by the interface's own fields."""
        if not self._needs_concrete_type(type_info, selections, fetch.graph, provided):
            for selection in selections:
                if included(selection, self.variables):
                    if isinstance(selection, FieldNode):
                        self._field(type_info.name, selection, fetch, target, path, provided)
                    else:  # a fragment on the interface itself
                        inner = self._fragment_selections(selection)
                        self._interface_object(type_info, inner, fetch, target, path, provided)
            return
        owner_graphs = sorted(
            g for g in type_info.keys if g not in type_info.interface_object_graphs
        )
        if not owner_graphs:
            raise PlanningError(
                f"{fetch.graph} knows {type_info.name} only as an @interfaceObject, and no "
                "subgraph can tell the concrete type of its objects"
            )
        owner = self._entity_fetch(type_info, owner_graphs[0], fetch, target, path, provided)
        owner.root.leaf("__typename", "__typename")
        rest: list[SelectionNode] = []
        for selection in selections:
            if not included(selection, self.variables):
                continue
            if (
                isinstance(selection, FieldNode)
                and not selection.name.value.startswith("__")
                and self._resolves(type_info.name, selection.name.value, fetch.graph, provided)
            ):
                self._field(type_info.name, selection, fetch, target, path, provided)
            else:
                rest.append(selection)
        if rest:
            self._selections(type_info.name, rest, owner, owner.root, path, NOTHING)

    def _needs_concrete_type(
        self,
        type_info: TypeInfo,
        selections: Sequence[SelectionNode],
        graph: str,
        provided: Provided,
    ) -> bool:
        for selection in selections:
            if not included(selection, self.variables):
                continue
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name == "__typename" or not self._resolves(
                    type_info.name, name, graph, provided
                ):
                    return True
                continue
            condition: NamedTypeNode | None
            if isinstance(selection, FragmentSpreadNode):
                condition = self.fragments[selection.name.value].type_condition
            else:
                assert isinstance(selection, InlineFragmentNode)
                condition = selection.type_condition
            if condition is not None and condition.name.value != type_info.name:
                return True
            inner = self._fragment_selections(selection)
            if self._needs_concrete_type(type_info, inner, graph, provided):
                return True
        return False

    def _fragment_selections(self, selection: SelectionNode) -> Sequence[SelectionNode]:
        if isinstance(selection, FragmentSpreadNode):
            return self.fragments[selection.name.value].selection_set.selections
        assert isinstance(selection, InlineFragmentNode)
        return selection.selection_set.selections

    def _best_graph(
        self, type_name: str, node: FieldNode, candidates: Iterable[str], used: set[str]
    ) -> str:
        """Among subgraphs that resolve a field, the one that resolves most of what is
        selected under it (fewest jumps), then one already fetched from, then by name."""
        return min(
            sorted(candidates),
            key=lambda graph: (self._misses(type_name, node, graph), graph not in used),
        )

    def _misses(
        self, type_name: str, node: FieldNode, graph: str, provided: Provided = NOTHING
    ) -> int:
        """How many fields under `node` the subgraph cannot resolve itself (what its
        @provides covers counts as resolved)."""
        if node.selection_set is None:
            return 0
        field_def = self._field_def(type_name, node.name.value)
        if field_def is None:
            return 0
        child_type = get_named_type(field_def.type).name
        info = self.supergraph.types[type_name].fields.get(node.name.value)
        if info is not None and graph in info.provides:
            below = _provided_tree(info.provides[graph])
        else:
            below = provided.get(node.name.value) or {}
        misses = 0
        for child in self._fields(child_type, node.selection_set.selections):
            if child.name.value.startswith("__"):
                continue
            if not self._resolves(child_type, child.name.value, graph, below):
                possible = self._possible_types(child_type, graph)
                if not any(self._resolves(t, child.name.value, graph, below) for t in possible):
                    misses += 1
                    continue
            misses += self._misses(child_type, child, graph, below)
        return misses

    def _via_interface_object(self, type_name: str, field_name: str) -> tuple[TypeInfo, str] | None:
        """The interface of `type_name`, and the @interfaceObject subgraph, that resolve a
        field the implementations only inherit."""
        named = self.schema.get_type(type_name)
        for interface in getattr(named, "interfaces", ()) or ():
            info = self.supergraph.types.get(interface.name)
            if info is None:
                continue
            graphs = info.resolvers_of(field_name) & info.interface_object_graphs
            if graphs:
                return info, sorted(graphs)[0]
        return None

    def _fragment(
        self,
        type_name: str,
        condition: str,
        inner: Sequence[SelectionNode],
        directives: Sequence[object] | None,
        fetch: FetchBuilder,
        target: Selection,
        path: tuple[str, ...],
        provided: Provided,
    ) -> None:
        printed = " ".join(print_ast(d) for d in directives or ())  # type: ignore[arg-type]
        if condition == type_name:
            if printed:
                sub = target.field(f"frag:{id(inner)}", f"... {printed}")
                self._selections(type_name, inner, fetch, sub, path, provided)
            else:
                self._selections(type_name, inner, fetch, target, path, provided)
            return
        condition_info = self.supergraph.types.get(condition)
        if condition_info is None:
            return
        wrap = (lambda sel: sel.field(f"frag:{id(inner)}", f"... {printed}")) if printed else None
        parent_abstract = self._is_abstract(type_name)
        if condition_info.kind not in ("interface", "union"):
            # A concrete type condition: kept only where this subgraph can return that type.
            if parent_abstract:
                if condition not in self.supergraph.possible_in(type_name, fetch.graph):
                    return
                target.leaf("__typename", "__typename")
                sub = target.field(
                    f"on:{condition}:{printed}", f"... on {condition} {printed}".rstrip()
                )
                self._selections(condition, inner, fetch, sub, path, provided)
            return
        # Whether a fragment applies is a question about supergraph types, even where this
        # subgraph does not declare the type condition (Oven implements Node elsewhere).
        possible = self.supergraph.possible.get(condition, frozenset())
        if not parent_abstract:
            # The object is of a known type: the fragment applies to it, or never does.
            if type_name in possible:
                self._selections(
                    type_name, inner, fetch, wrap(target) if wrap else target, path, provided
                )
            return
        # Abstract in abstract: narrow to the object types both allow in this subgraph.
        target.leaf("__typename", "__typename")
        for concrete in self.supergraph.possible_in(type_name, fetch.graph):
            if concrete in possible and self.schema.get_type(concrete) is not None:
                sub = target.field(
                    f"on:{concrete}:{printed}", f"... on {concrete} {printed}".rstrip()
                )
                self._selections(concrete, inner, fetch, sub, path, provided)

    def _field(
        self,
        type_name: str,
        node: FieldNode,
        fetch: FetchBuilder,
        target: Selection,
        path: tuple[str, ...],
        provided: Provided,
    ) -> None:
        name = node.name.value
        key = node.alias.value if node.alias else name
        if name == "__typename":
            target.leaf(key, print_ast(node), node)
            return
        type_info = self.supergraph.types[type_name]
        info = type_info.fields.get(name)
        if info is None:
            raise PlanningError(f"unknown field {type_name}.{name}")
        local = self._resolves(type_name, name, fetch.graph, provided)
        if info.context_arguments and not (local and fetch.graph not in info.context_arguments):
            graph = fetch.graph if local else min(sorted(info.context_arguments))
            self._contextual(type_info, node, graph, fetch, target, path, provided)
            return
        if local and fetch.graph not in info.requires:
            self._emit(type_name, node, fetch, target, path, provided)
            return
        graphs = sorted(info.graphs)
        if not graphs:
            via = self._via_interface_object(type_name, name)
            if via is None:
                raise PlanningError(f"no subgraph resolves {type_name}.{name}")
            interface, graph = via
            entity = self._entity_fetch(
                interface, graph, fetch, target, path, provided, (type_name,), for_field=name
            )
            self._emit(interface.name, node, entity, entity.root, path, NOTHING)
            return
        if local:  # resolvable here but needs @requires fields: back to this graph by key
            graph = fetch.graph
        else:
            reachable = [g for g in graphs if self._key_for(type_info, g, fetch, provided)]
            if not reachable:
                if self._rewind(type_name, node, graphs, path):
                    return
                reachable = [g for g in graphs if self._hop_key(type_info, g, fetch, provided)]
                reachable = reachable or graphs  # fails below, naming the missing key
            graph = self._best_graph(type_name, node, reachable, set())
        entity = self._entity_fetch(type_info, graph, fetch, target, path, provided, for_field=name)
        self._emit(type_name, node, entity, entity.root, path, NOTHING)

    def _contextual(
        self,
        type_info: TypeInfo,
        node: FieldNode,
        graph: str,
        fetch: FetchBuilder,
        target: Selection,
        path: tuple[str, ...],
        provided: Provided,
    ) -> None:
        """A field with arguments taken from context (@fromContext): each value is selected
        on the nearest ancestor that sets the context, like a requirement, and the field is
        fetched by an entity call of its own whose variables carry the values."""
        name = node.name.value
        bindings: list[ContextBinding] = []
        arguments = list(node.arguments or ())
        needed: list[FetchBuilder] = []
        for number, argument in enumerate(type_info.fields[name].context_arguments[graph]):
            depth = self._context_step(argument.context)
            if depth is None:
                raise PlanningError(
                    f"{type_info.name}.{name} takes {argument.name} from the context "
                    f"{argument.context}, which no ancestor in this operation sets"
                )
            step = self.trail[depth]
            selected = _parse_field_set(
                argument.selection.strip().removeprefix("{").removesuffix("}")
            )
            if len(selected) != 1:
                raise PlanningError(
                    f"the context selection {argument.selection!r} must select one field"
                )
            walked, self.trail = self.trail, self.trail[:depth]
            mark = len(self.touched)
            try:
                value = self._required(
                    step.type_name, selected[0], step.fetch, step.target, step.path, step.provided
                )
            finally:
                self.trail = walked
            needed += self.touched[mark:]
            variable = f"_fed_context_{number}"
            bindings.append(ContextBinding(variable, argument.type, len(step.path), value))
            arguments.append(
                ArgumentNode(
                    name=NameNode(value=argument.name),
                    value=VariableNode(name=NameNode(value=variable)),
                )
            )
        entity = self._entity_fetch(
            type_info, graph, fetch, target, path, provided, for_field=name, dedicated=True
        )
        entity.context = tuple(bindings)
        entity.follows(needed)
        with_context = FieldNode(
            alias=node.alias,
            name=node.name,
            arguments=tuple(arguments),
            directives=node.directives,
            selection_set=node.selection_set,
        )
        self._emit(type_info.name, with_context, entity, entity.root, path, NOTHING)

    def _context_step(self, context: str) -> int | None:
        """The nearest step of the walk whose object sets `context`."""
        for depth in range(len(self.trail) - 1, -1, -1):
            if self.supergraph.sets_context(self.trail[depth].type_name, context):
                return depth
        return None

    def _emit(
        self,
        type_name: str,
        node: FieldNode,
        fetch: FetchBuilder,
        target: Selection,
        path: tuple[str, ...],
        provided: Provided,
    ) -> None:
        name = node.name.value
        key = node.alias.value if node.alias else name
        head = _head(node)
        field_def = self._field_def(type_name, name)
        info = self.supergraph.types[type_name].fields.get(name)
        type_text = ""
        if field_def is not None:
            type_text = info.type_strings.get(fetch.graph, "") if info else ""
            type_text = type_text or str(field_def.type)
        if node.selection_set is None:
            target.leaf(f"{key}", head, node, type_text)
            return
        return_type = get_named_type(field_def.type).name if field_def else None
        if return_type is None:
            raise PlanningError(f"unknown field {type_name}.{name}")
        if info is not None and fetch.graph in info.provides:
            sub_provided = _provided_tree(info.provides[fetch.graph])
        else:  # a nested part of a @provides further up
            sub_provided = provided.get(name) or provided.get(f"on:{type_name}", {}).get(name) or {}
        sub = target.field(f"{key}", head, node, type_text)
        # The subgraph may declare a narrower type (`Book` for the supergraph's `Media`):
        # plan against what it declares, keeping __typename for the abstract answer.
        local_type = info.types.get(fetch.graph, return_type) if info else return_type
        if local_type != return_type and self._is_abstract(return_type):
            sub.leaf("__typename", "__typename")
        self.trail.append(Step(type_name, node, fetch, target, path, provided))
        try:
            self._selections(
                local_type, node.selection_set.selections, fetch, sub, (*path, key), sub_provided
            )
        finally:
            self.trail.pop()

    def _entity_fetch(
        self,
        type_info: TypeInfo,
        graph: str,
        fetch: FetchBuilder,
        target: Selection,
        path: tuple[str, ...],
        provided: Provided,
        accepts: Iterable[str] = (),
        for_field: str | None = None,
        dedicated: bool = False,
    ) -> FetchBuilder:
        """The entity fetch into `graph` for objects at `path`, keyed by a key the current
        fetch can provide, carrying the fields `for_field` @requires (`dedicated`: a fetch
        of its own, never shared with other fields)."""
        keys = type_info.keys.get(graph)
        if not keys:
            raise PlanningError(f"{type_info.name} is not an entity in {graph}")
        needed: list[FetchBuilder] = []  # what the key's and requirements' fields come from
        key = self._key_for(type_info, graph, fetch, provided)
        if key is not None:
            target.leaf("__typename", "__typename")
            representation = list(self._add_fields(type_info.name, key, fetch, target, provided))
        else:
            # No key here: its fields come from subgraphs reachable by a key first.
            key = self._hop_key(type_info, graph, fetch, provided)
            if key is None:
                raise PlanningError(
                    f"{fetch.graph} cannot provide a key of {type_info.name} for {graph}"
                )
            target.leaf("__typename", "__typename")
            mark = len(self.touched)
            representation = [
                replace(
                    self._required(type_info.name, node, fetch, target, path, provided),
                    nullable=False,
                )
                for node in _parse_field_set(key)
            ]
            needed += self.touched[mark:]
        field_info = type_info.fields.get(for_field) if for_field else None
        if field_info is not None and graph in field_info.requires:
            mark = len(self.touched)
            for node in _parse_field_set(field_info.requires[graph]):
                representation.append(
                    self._required(type_info.name, node, fetch, target, path, provided)
                )
            needed += self.touched[mark:]
        if not accepts and type_info.kind == "interface":
            # objects of the interface may already carry their concrete __typename
            accepts = {type_info.name, *self.supergraph.possible.get(type_info.name, ())}
        child = fetch.entity_child(
            graph,
            type_info.name,
            path,
            tuple(representation),
            self.touched,
            accepts,
            dedicated,
            needed,
        )
        child.representation = _merged(child.representation, representation)
        child.follows(needed)
        return child

    def _key_for(
        self, type_info: TypeInfo, graph: str, fetch: FetchBuilder, provided: Provided
    ) -> str | None:
        """A key of `graph` for the type whose fields the current fetch can select."""
        for key in type_info.keys.get(graph, ()):
            if self._selectable(type_info.name, _parse_field_set(key), fetch.graph, provided):
                return key
        return None

    def _selectable(
        self, type_name: str, nodes: Iterable[FieldNode], graph: str, provided: Provided
    ) -> bool:
        for node in nodes:
            name = node.name.value
            if not self._resolves(type_name, name, graph, provided):
                return False
            if node.selection_set is not None:
                child_type = self._named_return(type_name, name) or type_name
                children = [s for s in node.selection_set.selections if isinstance(s, FieldNode)]
                if not self._selectable(child_type, children, graph, provided.get(name) or {}):
                    return False
        return True

    def _hop_key(
        self, type_info: TypeInfo, graph: str, fetch: FetchBuilder, provided: Provided
    ) -> str | None:
        """A key of `graph` whose fields can be gathered starting from the current fetch:
        each field selected there or in a subgraph a key away, nested fields likewise (a ->
        b for the `id` that c is keyed by; a list's `isbn` from b, its `id` from a)."""
        for key in type_info.keys.get(graph, ()):
            nodes = _parse_field_set(key)
            if self._gatherable(type_info.name, nodes, fetch.graph, provided, at_walk=True):
                return key
        return None

    def _gatherable(
        self,
        type_name: str,
        nodes: Iterable[FieldNode],
        graph: str,
        provided: Provided,
        hops: int = MAX_KEY_HOPS,
        at_walk: bool = False,
    ) -> bool:
        """Whether a field set can be selected starting in `graph`: each field there (its
        subfields likewise), or in another subgraph that a key of the type, itself
        gatherable, leads to, or (`at_walk`: the fields are on the objects the walk is at)
        by going back along the walk. `hops` bounds how many jumps one field may take."""
        type_info = self.supergraph.types.get(type_name)
        if type_info is None:
            return False
        for node in nodes:
            name = node.name.value
            if self._resolves(type_name, name, graph, provided):
                if node.selection_set is None:
                    continue
                child_type = self._named_return(type_name, name) or type_name
                children = [s for s in node.selection_set.selections if isinstance(s, FieldNode)]
                below = provided.get(name) or {}
                if self._gatherable(child_type, children, graph, below, hops):
                    continue
                if hops > 0 and self._gatherable_elsewhere(type_info, node, graph, hops):
                    continue
                return False
            if hops > 0 and self._gatherable_elsewhere(type_info, node, graph, hops):
                continue
            if at_walk:
                others = sorted(type_info.resolvers_of(name) - {graph})
                if self._rewind_route(type_name, node, others) is not None:
                    continue
            return False
        return True

    def _gatherable_elsewhere(
        self, type_info: TypeInfo, node: FieldNode, graph: str, hops: int
    ) -> bool:
        for other in sorted(type_info.resolvers_of(node.name.value) - {graph}):
            if not self._gatherable(type_info.name, [node], other, NOTHING, hops - 1):
                continue
            for key in type_info.keys.get(other, ()):
                if self._gatherable(
                    type_info.name, _parse_field_set(key), graph, NOTHING, hops - 1
                ):
                    return True
        return False

    def _rewind(
        self, type_name: str, node: FieldNode, graphs: Sequence[str], path: tuple[str, ...]
    ) -> bool:
        """A field no key leads to (its type is no entity there): go back along the path to
        the nearest point another subgraph can be entered from (the root of a query, or an
        entity it has a key for) and select the same path there."""
        route = self._rewind_route(type_name, node, graphs)
        if route is None:
            return False
        step, graph, chain = route.step, route.graph, route.chain
        if route.kind == "root":
            entry = self.by_graph.get(graph)
            if entry is None:
                entry = self.by_graph[graph] = FetchBuilder(graph=graph, root=Selection())
                self.roots.append(entry)
        elif route.kind == "entity":
            parent_info = self.supergraph.types[step.type_name]
            entry = self._entity_fetch(
                parent_info, graph, step.fetch, step.target, step.path, step.provided
            )
        else:
            entry = self._sibling_fetch(self.supergraph.types[step.type_name], graph, step)
            assert entry is not None  # _rewind_route checked it
        target = entry.root
        for index, walked in enumerate(chain):
            below = chain[index + 1].type_name if index + 1 < len(chain) else type_name
            target = self._reselect(walked, below, graph, target)
        self._field(type_name, node, entry, target, path, NOTHING)
        return True

    def _rewind_route(
        self, type_name: str, node: FieldNode, graphs: Sequence[str]
    ) -> RewindRoute | None:
        """Where `_rewind` would go back to, decided without planning anything: the nearest
        step of the walk from which one of `graphs` can be entered and the rest of the path
        selected again."""
        for depth in range(len(self.trail) - 1, self.rewind_floor - 1, -1):
            step = self.trail[depth]
            chain = self.trail[depth:]
            for graph in graphs:
                if graph == step.fetch.graph or not self._walkable(chain, type_name, node, graph):
                    continue
                if not step.path and step.fetch.entity_type is None:
                    if self.is_query:  # a mutation's root field is never run twice
                        return RewindRoute("root", step, graph, chain)
                    continue
                parent_info = self.supergraph.types[step.type_name]
                if self._key_for(parent_info, graph, step.fetch, step.provided) is not None:
                    return RewindRoute("entity", step, graph, chain)
                if self._sibling_key(parent_info, graph, step) is not None:
                    return RewindRoute("sibling", step, graph, chain)
        return None

    def _sibling_key(
        self, type_info: TypeInfo, graph: str, step: Step
    ) -> tuple[KeyField, ...] | None:
        """When the walk is inside an entity fetch at the entity itself, the key fields that
        fetch was sent with are on the object too (its parent selected them): a key of
        `graph` made of them lets a sibling fetch enter `graph` there."""
        source = step.fetch
        if (
            source.parent is None
            or source.entity_type != type_info.name
            or source.path != step.path
        ):
            return None
        for key in type_info.keys.get(graph, ()):
            fields = _covered(source.representation, _parse_field_set(key))
            if fields is not None:
                return fields
        return None

    def _sibling_fetch(self, type_info: TypeInfo, graph: str, step: Step) -> FetchBuilder | None:
        fields = self._sibling_key(type_info, graph, step)
        source = step.fetch
        if fields is None or source.parent is None:
            return None
        child = source.parent.entity_child(
            graph, type_info.name, step.path, fields, self.touched, source.accepts
        )
        child.representation = _merged(child.representation, fields)
        child.follows(source.after)
        return child

    def _walkable(self, chain: list[Step], type_name: str, node: FieldNode, graph: str) -> bool:
        for index, walked in enumerate(chain):
            if not self._resolves(walked.type_name, walked.node.name.value, graph, NOTHING):
                return False
            below = chain[index + 1].type_name if index + 1 < len(chain) else type_name
            if self._is_abstract(below):
                continue
            if graph not in self.supergraph.types[below].graphs:
                return False
        return self._resolves(type_name, node.name.value, graph, NOTHING)

    def _reselect(self, step: Step, below: str, graph: str, target: Selection) -> Selection:
        """The field of a rewound path, selected again (same key and arguments)."""
        node = step.node
        key = node.alias.value if node.alias else node.name.value
        head = _head(node)
        sub = target.field(key, head, node)
        declared = self._named_return(step.type_name, node.name.value) or below
        info = self.supergraph.types[step.type_name].fields.get(node.name.value)
        local_type = info.types.get(graph, declared) if info else declared
        if self._is_abstract(declared) or self._is_abstract(local_type):
            sub.leaf("__typename", "__typename")
        if below != local_type and not self._is_abstract(below):
            return sub.field(f"on:{below}:", f"... on {below}")
        return sub

    def _required(
        self,
        type_name: str,
        node: FieldNode,
        fetch: FetchBuilder,
        target: Selection,
        path: tuple[str, ...],
        provided: Provided,
    ) -> KeyField:
        """A @requires field is planned like a client's field (it may live in other
        subgraphs, have arguments, fragments, abstract types), under an internal alias."""
        alias = _requirement_alias(node)
        aliased = FieldNode(
            alias=NameNode(value=alias),
            name=node.name,
            arguments=node.arguments,
            directives=(),
            selection_set=node.selection_set,
        )
        self._field(type_name, aliased, fetch, target, path, provided)
        child_type = self._named_return(type_name, node.name.value) or type_name
        children: tuple[KeyField, ...] = ()
        if node.selection_set is not None:
            children = tuple(self._shape_of(child_type, node.selection_set.selections, None))
        return KeyField(node.name.value, alias, children, nullable=True)

    def _shape_of(
        self, type_name: str, selections: Sequence[SelectionNode], only_for: frozenset[str] | None
    ) -> Iterable[KeyField]:
        """How to read a requirement's value back out of the response."""
        if self._is_abstract(type_name):
            yield KeyField("__typename", "__typename", nullable=True, only_for=only_for)
        for selection in selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                children: tuple[KeyField, ...] = ()
                if selection.selection_set is not None:
                    child_type = self._named_return(type_name, name) or type_name
                    children = tuple(
                        self._shape_of(child_type, selection.selection_set.selections, None)
                    )
                key = selection.alias.value if selection.alias else name
                yield KeyField(name, key, children, nullable=True, only_for=only_for)
            elif isinstance(selection, InlineFragmentNode):
                condition = (
                    selection.type_condition.name.value if selection.type_condition else type_name
                )
                allowed = frozenset(self.supergraph.possible.get(condition, {condition}))
                if only_for is not None:
                    allowed &= only_for
                yield from self._shape_of(condition, selection.selection_set.selections, allowed)

    def _add_fields(
        self,
        type_name: str,
        field_set: str,
        fetch: FetchBuilder,
        target: Selection,
        provided: Provided,
    ) -> Iterable[KeyField]:
        for node in _parse_field_set(field_set):
            yield self._key_field(type_name, node, target)

    def _key_field(self, type_name: str, node: FieldNode, target: Selection) -> KeyField:
        name = node.name.value
        alias = internal_alias(name)
        arguments = ""
        if node.arguments:  # @requires(fields: "price(currency: EUR)")
            arguments = "(" + ", ".join(print_ast(a) for a in node.arguments) + ")"
        if node.selection_set is None:
            target.leaf(alias, f"{alias}: {name}{arguments}")
            return KeyField(name, alias)
        sub = target.field(alias, f"{alias}: {name}{arguments}")
        child_type = self._named_return(type_name, name) or type_name
        children = []
        for child in node.selection_set.selections:
            if isinstance(child, FieldNode):
                child_name = child.name.value
                if child.selection_set is None:
                    sub.leaf(child_name, child_name)
                    children.append(KeyField(child_name, child_name))
                else:
                    nested = self._key_field(child_type, child, sub)
                    children.append(nested)
        return KeyField(name, alias, tuple(children))

    # -- schema knowledge --------------------------------------------------------------
    def _resolves(self, type_name: str, field_name: str, graph: str, provided: Provided) -> bool:
        info = self.supergraph.types.get(type_name)
        if info is None:
            return False
        if field_name in provided or field_name in provided.get(f"on:{type_name}", ()):
            return True
        field_info = info.fields.get(field_name)
        if field_info is None:
            return field_name.startswith("__")
        return graph in field_info.graphs

    def _resolves_for_all(
        self, type_name: str, field_name: str, graph: str, provided: Provided
    ) -> bool:
        """An abstract type's field a subgraph answers whatever the object's type: not when
        an implementation has it @external or overridden elsewhere."""
        if not self._resolves(type_name, field_name, graph, provided):
            return False
        for concrete in self.supergraph.possible_in(type_name, graph):
            info = self.supergraph.types[concrete]
            if field_name in info.fields and not self._resolves(
                concrete, field_name, graph, provided
            ):
                return False
        return True

    def _through_interface_object(
        self,
        type_name: str,
        node: FieldNode,
        fetch: FetchBuilder,
        target: Selection,
        path: tuple[str, ...],
        provided: Provided,
    ) -> bool:
        """An interface's field that an @interfaceObject subgraph answers for every
        implementation: one entity fetch there, whatever the concrete types are."""
        info = self.supergraph.types[type_name]
        field_info = info.fields.get(node.name.value)
        if field_info is None:
            return False
        for graph in sorted(field_info.graphs & info.interface_object_graphs):
            if self._key_for(info, graph, fetch, provided) is not None:
                entity = self._entity_fetch(
                    info, graph, fetch, target, path, provided, for_field=node.name.value
                )
                self._emit(type_name, node, entity, entity.root, path, NOTHING)
                return True
        return False

    def _possible_types(self, type_name: str, graph: str) -> list[str]:
        """Object types of an abstract type that `graph` may return and clients may see."""
        named = self.schema.get_type(type_name)
        if named is None or not is_abstract_type(named):
            return [type_name]
        return [t for t in self.supergraph.possible_in(type_name, graph) if self.schema.get_type(t)]

    def _is_abstract(self, type_name: str) -> bool:
        info = self.supergraph.types.get(type_name)
        return info is not None and info.kind in ("interface", "union")

    def _named_return(self, type_name: str, field_name: str) -> str | None:
        field_def = self._field_def(type_name, field_name)
        return get_named_type(field_def.type).name if field_def else None

    def _field_def(self, type_name: str, field_name: str):  # type: ignore[no-untyped-def]
        named = self.schema.get_type(type_name)
        fields = getattr(named, "fields", None)
        return fields.get(field_name) if fields else None

    # -- output ------------------------------------------------------------------------
    def _finish(self, builder: FetchBuilder, kind: str, numbers: dict[int, int]) -> Fetch:
        builder.root.separate_conflicts()
        used = _variables_in(builder.root.print()) & set(self.variable_definitions)
        definitions = " ".join(
            print_ast(self.variable_definitions[v])
            for v in sorted(used)
            if v in self.variable_definitions
        )
        if builder.entity_type is None:
            head = kind if not definitions else f"{kind}({definitions})"
            operation = f"{head} {{ {builder.root.print()} }}"
        else:
            definitions = " ".join(
                [definitions, *(f"${b.variable}: {b.type}" for b in builder.context)]
            ).strip()
            variables = "$representations: [_Any!]!" + (f" {definitions}" if definitions else "")
            operation = (
                f"query({variables}) {{ _entities(representations: $representations)"
                f" {{ ... on {builder.entity_type} {{ {builder.root.print()} }} }} }}"
            )
        return Fetch(
            graph=builder.graph,
            operation=operation,
            variables=tuple(sorted(used)),
            entity_type=builder.entity_type,
            path=builder.path,
            representation=builder.representation,
            accepts=tuple(sorted(builder.accepts)),
            children=[self._finish(child, "query", numbers) for child in builder.children],
            id=numbers[id(builder)],
            after=tuple(sorted(numbers[id(other)] for other in builder.after)),
            context=builder.context,
        )


def _head(node: FieldNode, alias: str | None = None) -> str:
    """`alias: name(arguments) @directives`: a field as selected, without its children."""
    return print_ast(
        FieldNode(
            alias=NameNode(value=alias) if alias else node.alias,
            name=node.name,
            arguments=node.arguments,
            directives=node.directives,
        )
    )


def _covered(fields: Sequence[KeyField], nodes: Iterable[FieldNode]) -> tuple[KeyField, ...] | None:
    """The representation fields a key's field set names, if all are there."""
    out = []
    for node in nodes:
        found = next((f for f in fields if f.name == node.name.value and f.only_for is None), None)
        if found is None:
            return None
        if node.selection_set is not None:
            inner = [s for s in node.selection_set.selections if isinstance(s, FieldNode)]
            children = _covered(found.children, inner)
            if children is None:
                return None
            found = replace(found, children=children)
        out.append(found)
    return tuple(out)


def _requirement_alias(node: FieldNode) -> str:
    """Where a required field travels. Two requirements of one field with different
    arguments (`price(currency: "USD")`, `price(currency: "EUR")`) are different values, so
    arguments anywhere in the selection make their own alias."""
    arguments: list[str] = []

    class Collect(Visitor):
        def enter_argument(self, argument: ArgumentNode, *_: object) -> None:
            arguments.append(print_ast(argument))

    visit(node, Collect())
    if not arguments:
        return internal_alias(node.name.value)
    digest = hashlib.sha256(" ".join(arguments).encode()).hexdigest()[:8]
    return internal_alias(f"{node.name.value}_{digest}")


def _conflicting(known: Iterable[KeyField], more: Iterable[KeyField]) -> bool:
    """Representations that would send one field name with two different values (two
    requirements of `price` with different arguments): they need separate entity fetches."""
    aliases = {(field.name, field.only_for): field.alias for field in known}
    return any(
        aliases.get((field.name, field.only_for), field.alias) != field.alias for field in more
    )


def _merged(known: tuple[KeyField, ...], more: Iterable[KeyField]) -> tuple[KeyField, ...]:
    """Representation fields of one fetch, several requirements' selections merged."""
    fields = list(known)
    for extra in more:
        for index, existing in enumerate(fields):
            if (existing.alias, existing.only_for) == (extra.alias, extra.only_for):
                if extra.children:
                    children = _merged(existing.children, extra.children)
                    fields[index] = replace(existing, children=children)
                break
        else:
            fields.append(extra)
    return tuple(fields)


def _provided_tree(field_set: str) -> Provided:
    """`a { b ... on T { c } }` as {"a": {"b": {}, "on:T": {"c": {}}}}."""

    def tree(selections: Iterable[SelectionNode]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for selection in selections:
            if isinstance(selection, FieldNode):
                inner = selection.selection_set.selections if selection.selection_set else ()
                out[selection.name.value] = tree(inner)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner_tree = tree(selection.selection_set.selections)
                if condition is None:
                    out.update(inner_tree)
                else:
                    out.setdefault(f"on:{condition.name.value}", {}).update(inner_tree)
        return out

    document = parse(f"{{ {field_set} }}")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return tree(operation.selection_set.selections)


def _field_names(field_set: str) -> list[str]:
    return [node.name.value for node in _parse_field_set(field_set)]


def _parse_field_set(field_set: str) -> list[FieldNode]:
    document = parse(f"{{ {field_set} }}")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    selection_set: SelectionSetNode = operation.selection_set
    return [s for s in selection_set.selections if isinstance(s, FieldNode)]


def _variables_in(selection: str) -> set[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_variable(self, node: VariableNode, *_: object) -> None:
            names.add(node.name.value)

    visit(parse(f"{{ {selection} }}", no_location=True), Collect())
    return names


def plan_operation(
    supergraph: Supergraph,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
) -> QueryPlan:
    return Planner(supergraph, document, operation, variables or {}).plan()
