"""Stage 3: from a validated operation to a query plan, knowing only the supergraph model.

Walks the client's selections type by type. A field the current subgraph resolves stays in
the current fetch; any other field makes (or joins) an entity fetch to a subgraph that
resolves it, keyed by a key that the current subgraph can provide. `@requires` fields are
added to the representation, `@provides` lets a subgraph answer external fields along a
path, shareable fields stay where the walk already is, abstract types are planned per
possible type. Named fragments are inlined; @skip/@include travel with their fields and are
applied by the subgraphs and the final shaping, so a plan does not depend on variables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
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
from gateway.federation.plan import Fetch, KeyField, QueryPlan, internal_alias
from gateway.federation.supergraph import Supergraph, TypeInfo

__all__ = ["PlanningError", "plan_operation"]


class PlanningError(Exception):
    pass


@dataclass
class Selection:
    """A selection set being built for one subgraph request."""

    items: dict[str, Item] = field(default_factory=dict)

    def field(self, key: str, text: str, node: FieldNode | None = None) -> Selection:
        item = self.items.get(key)
        if item is None:
            item = self.items[key] = Item(text=text, node=node)
        return item.sub

    def leaf(self, key: str, text: str, node: FieldNode | None = None) -> None:
        self.items.setdefault(key, Item(text=text, node=node, leaf=True))

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
    sub: Selection = field(default_factory=Selection)


@dataclass
class FetchBuilder:
    graph: str
    root: Selection
    entity_type: str | None = None
    path: tuple[str, ...] = ()
    representation: tuple[KeyField, ...] = ()
    accepts: set[str] = field(default_factory=set)
    children: list[FetchBuilder] = field(default_factory=list)

    def entity_child(
        self,
        graph: str,
        type_name: str,
        path: tuple[str, ...],
        representation: tuple[KeyField, ...],
        accepts: Iterable[str] = (),
    ) -> FetchBuilder:
        wanted = set(accepts) or {type_name}
        for child in self.children:
            if (child.graph, child.entity_type, child.path) == (graph, type_name, path):
                child.accepts |= wanted
                return child
        child = FetchBuilder(
            graph=graph,
            root=Selection(),
            entity_type=type_name,
            path=path,
            representation=representation,
            accepts=wanted,
        )
        self.children.append(child)
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

    # -- entry -------------------------------------------------------------------------
    def plan(self) -> QueryPlan:
        is_mutation = self.operation.operation is OperationType.MUTATION
        root_type = (
            self.supergraph.mutation_type if is_mutation else self.supergraph.query_type
        ) or "Query"
        roots: list[FetchBuilder] = []
        by_graph: dict[str, FetchBuilder] = {}
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
            self._field(root_type, node, builder, builder.root, (), frozenset())
        kind = "mutation" if is_mutation else "query"
        return QueryPlan(kind=kind, fetches=[self._finish(b, kind) for b in roots])

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
        provided: frozenset[str],
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
                    and not (self._resolves(type_name, selection.name.value, fetch.graph, provided))
                ):
                    for concrete in self._possible_types(type_name, fetch.graph):
                        sub = target.field(f"on:{concrete}", f"... on {concrete}")
                        self._field(concrete, selection, fetch, sub, path, provided)
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
        provided: frozenset[str],
    ) -> None:
        """This subgraph sees the interface as an object (@interfaceObject): it answers its
        own fields, and the interface's owner answers the real __typename and the rest."""
        owner_graphs = sorted(
            g for g in type_info.keys if g not in type_info.interface_object_graphs
        )
        if not owner_graphs:
            raise PlanningError(f"no subgraph owns the interface {type_info.name}")
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
                self._emit(type_info.name, selection, fetch, target, path, provided)
            else:
                rest.append(selection)
        if rest:
            self._selections(type_info.name, rest, owner, owner.root, path, frozenset())

    def _best_graph(
        self, type_name: str, node: FieldNode, candidates: Iterable[str], used: set[str]
    ) -> str:
        """Among subgraphs that resolve a field, the one that resolves most of what is
        selected under it (fewest jumps), then one already fetched from, then by name."""
        return min(
            sorted(candidates),
            key=lambda graph: (self._misses(type_name, node, graph), graph not in used),
        )

    def _misses(self, type_name: str, node: FieldNode, graph: str) -> int:
        """How many fields under `node` the subgraph cannot resolve itself."""
        if node.selection_set is None:
            return 0
        field_def = self._field_def(type_name, node.name.value)
        if field_def is None:
            return 0
        child_type = get_named_type(field_def.type).name
        misses = 0
        for child in self._fields(child_type, node.selection_set.selections):
            if child.name.value.startswith("__"):
                continue
            if not self._resolves(child_type, child.name.value, graph, frozenset()):
                possible = self._possible_types(child_type, graph)
                if not any(
                    self._resolves(t, child.name.value, graph, frozenset()) for t in possible
                ):
                    misses += 1
                    continue
            misses += self._misses(child_type, child, graph)
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
        provided: frozenset[str],
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
        if fetch.graph not in condition_info.graphs:
            if condition_info.kind in ("interface", "union"):
                # The subgraph may not know the abstract type: narrow to the concrete ones.
                for concrete in self._possible_types(condition, fetch.graph):
                    if concrete in self._possible_types(type_name, fetch.graph) or (
                        concrete == type_name
                    ):
                        sub = target.field(
                            f"on:{concrete}:{printed}", f"... on {concrete} {printed}".rstrip()
                        )
                        self._selections(concrete, inner, fetch, sub, path, provided)
            return
        target.leaf("__typename", "__typename")
        sub = target.field(f"on:{condition}:{printed}", f"... on {condition} {printed}".rstrip())
        self._selections(condition, inner, fetch, sub, path, provided)

    def _field(
        self,
        type_name: str,
        node: FieldNode,
        fetch: FetchBuilder,
        target: Selection,
        path: tuple[str, ...],
        provided: frozenset[str],
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
                interface, graph, fetch, target, path, provided, accepts=(type_name,)
            )
            self._emit(interface.name, node, entity, entity.root, path, frozenset())
            return
        if local:  # resolvable here but needs @requires fields: back to this graph by key
            graph = fetch.graph
        else:
            reachable = [g for g in graphs if g in type_info.keys] or graphs
            graph = self._best_graph(type_name, node, reachable, set())
        entity = self._entity_fetch(type_info, graph, fetch, target, path, provided, for_field=name)
        self._emit(type_name, node, entity, entity.root, path, frozenset())

    def _emit(
        self,
        type_name: str,
        node: FieldNode,
        fetch: FetchBuilder,
        target: Selection,
        path: tuple[str, ...],
        provided: frozenset[str],
    ) -> None:
        name = node.name.value
        key = node.alias.value if node.alias else name
        head = print_ast(
            FieldNode(
                alias=node.alias,
                name=node.name,
                arguments=node.arguments,
                directives=node.directives,
                selection_set=None,
            )
        )
        if node.selection_set is None:
            target.leaf(f"{key}", head, node)
            return
        field_def = self._field_def(type_name, name)
        return_type = get_named_type(field_def.type).name if field_def else None
        if return_type is None:
            raise PlanningError(f"unknown field {type_name}.{name}")
        info = self.supergraph.types[type_name].fields.get(name)
        sub_provided: frozenset[str] = frozenset()
        if info is not None and fetch.graph in info.provides:
            sub_provided = frozenset(_field_names(info.provides[fetch.graph]))
        sub = target.field(f"{key}", head, node)
        self._selections(
            return_type, node.selection_set.selections, fetch, sub, (*path, key), sub_provided
        )

    def _entity_fetch(
        self,
        type_info: TypeInfo,
        graph: str,
        fetch: FetchBuilder,
        target: Selection,
        path: tuple[str, ...],
        provided: frozenset[str],
        accepts: Iterable[str] = (),
        for_field: str | None = None,
    ) -> FetchBuilder:
        """The entity fetch into `graph` for objects at `path`, keyed by a key the current
        fetch can provide, carrying the fields `for_field` @requires."""
        keys = type_info.keys.get(graph)
        if not keys:
            raise PlanningError(f"{type_info.name} is not an entity in {graph}")
        key = next(
            (
                k
                for k in keys
                if all(
                    self._resolves(type_info.name, f, fetch.graph, provided)
                    for f in _field_names(k)
                )
            ),
            None,
        )
        if key is None:
            raise PlanningError(
                f"{fetch.graph} cannot provide a key of {type_info.name} for {graph}"
            )
        target.leaf("__typename", "__typename")
        representation = list(self._add_fields(type_info.name, key, fetch, target, provided))
        parent = fetch
        field_info = type_info.fields.get(for_field) if for_field else None
        if field_info is not None and graph in field_info.requires:
            for key_field, owner in self._add_required(
                type_info, field_info.requires[graph], fetch, target, path, provided
            ):
                representation.append(replace(key_field, nullable=True))
                if owner is not fetch:
                    parent = owner
        child = parent.entity_child(graph, type_info.name, path, tuple(representation), accepts)
        known = {key_field.alias for key_field in child.representation}
        child.representation += tuple(f for f in representation if f.alias not in known)
        return child

    def _add_fields(
        self,
        type_name: str,
        field_set: str,
        fetch: FetchBuilder,
        target: Selection,
        provided: frozenset[str],
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
        field_def = self._field_def(type_name, name)
        child_type = get_named_type(field_def.type).name if field_def else type_name
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

    def _add_required(
        self,
        type_info: TypeInfo,
        required: str,
        fetch: FetchBuilder,
        target: Selection,
        path: tuple[str, ...],
        provided: frozenset[str],
    ) -> Iterable[tuple[KeyField, FetchBuilder]]:
        """Required fields come from the current fetch when it resolves them, else from an
        entity fetch of their own, which then has to answer first."""
        for node in _parse_field_set(required):
            name = node.name.value
            if self._resolves(type_info.name, name, fetch.graph, provided):
                yield self._key_field(type_info.name, node, target), fetch
                continue
            owners = sorted(type_info.fields[name].graphs)
            if not owners:
                raise PlanningError(f"nobody resolves required {type_info.name}.{name}")
            other = self._entity_fetch(
                type_info, owners[0], fetch, target, path, provided, for_field=name
            )
            yield self._key_field(type_info.name, node, other.root), other

    # -- schema knowledge --------------------------------------------------------------
    def _resolves(
        self, type_name: str, field_name: str, graph: str, provided: frozenset[str]
    ) -> bool:
        info = self.supergraph.types.get(type_name)
        if info is None:
            return False
        if field_name in provided:
            return True
        field_info = info.fields.get(field_name)
        if field_info is None:
            return field_name.startswith("__")
        return graph in field_info.graphs

    def _possible_types(self, type_name: str, graph: str) -> list[str]:
        named = self.schema.get_type(type_name)
        if named is None or not is_abstract_type(named):
            return [type_name]
        return sorted(
            t.name
            for t in self.schema.get_possible_types(named)
            if graph in self.supergraph.types.get(t.name, TypeInfo(t.name, "")).graphs
        )

    def _field_def(self, type_name: str, field_name: str):  # type: ignore[no-untyped-def]
        named = self.schema.get_type(type_name)
        fields = getattr(named, "fields", None)
        return fields.get(field_name) if fields else None

    # -- output ------------------------------------------------------------------------
    def _finish(self, builder: FetchBuilder, kind: str) -> Fetch:
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
            children=[self._finish(child, "query") for child in builder.children],
        )


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
