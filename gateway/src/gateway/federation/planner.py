"""Stage 3: from a validated operation to a query plan, knowing only the supergraph model.

The planner walks the client's selections type by type. For each field, route choice
(routes.py) decides where it is answered; the walk carries the decision out on the fetch
tree (fetch_tree.py): the field is added to the current fetch's selection (selection.py),
or to an entity fetch it creates or joins, keyed by a key the current fetch selects (or
gathers first from other subgraphs), or the path is selected again from a point the walk
went through. `@requires` and context selections are planned like the client's own fields
(under internal aliases) and read back into the representation or the variables;
`@provides` lets a subgraph answer external fields along a path; abstract types are planned
per object type the subgraph itself declares. Named fragments are inlined; @skip/@include
are decided while planning (the pipeline keeps one plan per set of condition values).
When the walk is done, the tree is printed into plan data (fetch_tree.finish).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    VariableNode,
    get_named_type,
)

from gateway.federation.conditions import included
from gateway.federation.defer import DEFER, DeferKey
from gateway.federation.fetch_tree import (
    FetchBuilder,
    Position,
    Step,
    finish,
    merged,
    release,
    requirement_alias,
)
from gateway.federation.field_sets import NOTHING
from gateway.federation.plan import ContextBinding, KeyField, QueryPlan, internal_alias
from gateway.federation.planning_errors import (
    AbstractFieldUnanswerable,
    ConcreteTypeUnknown,
    ContextNotSet,
    ContextSelectionInvalid,
    NoKeyPath,
    NoResolver,
    NotAnEntity,
    PlanningError,
    UnknownField,
)
from gateway.federation.routes import (
    Jump,
    Rewind,
    RewindRoute,
    RouteFinder,
    Stay,
    ThroughInterfaceObject,
    Walk,
    WithContext,
)
from gateway.federation.runtime_types import PositionTypes
from gateway.federation.selection import Selection, head
from gateway.federation.supergraph import FieldInfo, Supergraph, TypeInfo

__all__ = ["PlanningError", "plan_operation"]


class Planner:
    def __init__(
        self,
        supergraph: Supergraph,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        deferred: Mapping[DeferKey, int] | None = None,
    ) -> None:
        self.supergraph = supergraph
        # the active deferred fragments by where they are (none: @defer is ignored)
        self.deferred = deferred or {}
        self.group = 0  # the deferred fragment being planned (0: the first payload)
        self.internal = 0  # > 0 while planning fields the planner needs for itself
        self.variables = variables
        self.operation = operation
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variable_definitions = {
            v.variable.name.value: v for v in operation.variable_definitions or ()
        }
        self.walk = Walk()
        self.routes = RouteFinder(supergraph, variables, self.fragments, self.walk)
        # every entity fetch created or joined, in order: what a requirement's planning
        # touched is what the requiring fetch has to wait for
        self.touched: list[FetchBuilder] = []
        self.roots: list[FetchBuilder] = []
        self.by_graph: dict[tuple[int, str], FetchBuilder] = {}  # root fetches
        self.positions = PositionTypes(supergraph)  # what an abstract position may hold

    # -- entry -------------------------------------------------------------------------
    def plan(self) -> QueryPlan:
        is_mutation = self.operation.operation is OperationType.MUTATION
        # a subscription is planned as a query on its root type: its one root field's fetch
        # is the stream, and the rest of the plan runs for each event (pipeline.subscribe)
        is_subscription = self.operation.operation is OperationType.SUBSCRIPTION
        if is_mutation:
            root_type = self.supergraph.mutation_type or "Mutation"
        elif is_subscription:
            root_type = self.supergraph.subscription_type or "Subscription"
        else:
            root_type = self.supergraph.query_type or "Query"
        # a mutation's or subscription's root field is never selected again elsewhere
        self.walk.is_query = not is_mutation and not is_subscription
        self._root_selections(root_type, self.operation.selection_set.selections, is_mutation)
        kind = "mutation" if is_mutation else "subscription" if is_subscription else "query"
        plan = finish(self.roots, kind, self.variable_definitions)
        release(self.roots)
        return plan

    def _root_selections(
        self, root_type: str, selections: Sequence[SelectionNode], is_mutation: bool
    ) -> None:
        for selection in selections:
            if not included(selection, self.variables):
                continue
            if not isinstance(selection, FieldNode):
                inner = self.routes.fragment_selections(selection)
                group = self.deferred.get(((), id(selection)))
                if group is None:
                    self._root_selections(root_type, inner, is_mutation)
                    continue
                outer, self.group = self.group, group
                try:
                    self._root_selections(root_type, inner, is_mutation)
                finally:
                    self.group = outer
                continue
            if selection.name.value.startswith("__"):
                continue  # introspection and __typename: answered by the final shaping
            info = self.supergraph.types[root_type].fields.get(selection.name.value)
            if info is None or not info.graphs:
                raise NoResolver(root_type, selection.name.value)
            known = {graph for group, graph in self.by_graph if group == self.group}
            graph = self.routes.best_graph(root_type, selection, info.graphs, known)
            builder = self.by_graph.get((self.group, graph))
            if is_mutation or builder is None:
                builder = FetchBuilder(graph=graph, root=Selection(), group=self.group)
                self.roots.append(builder)
                if not is_mutation:
                    self.by_graph[self.group, graph] = builder
            self._field(root_type, selection, Position(builder, builder.root))

    # -- selections --------------------------------------------------------------------
    def _selections(
        self, type_name: str, selections: Sequence[SelectionNode], at: Position
    ) -> None:
        type_info = self.supergraph.types.get(type_name)
        if type_info is not None and at.fetch.graph in type_info.interface_object_graphs:
            self._interface_object(type_info, selections, at)
            return
        abstract = type_info is not None and type_info.kind in ("interface", "union")
        if abstract:
            at.target.leaf("__typename", "__typename")
        for selection in selections:
            if selection.directives and not included(selection, self.variables):
                continue
            if isinstance(selection, FieldNode):
                if (
                    abstract
                    and not selection.name.value.startswith("__")
                    and not self.routes.resolves_for_all(
                        type_name, selection.name.value, at.fetch.graph, at.provided
                    )
                ):
                    self._per_type(type_name, selection, at)
                    continue
                self._field(type_name, selection, at)
                continue
            if isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                condition = fragment.type_condition.name.value
            else:
                assert isinstance(selection, InlineFragmentNode)
                type_condition = selection.type_condition
                condition = type_condition.name.value if type_condition else type_name
            group = self.deferred.get((at.path, id(selection)))
            outer, self.group = self.group, self.group if group is None else group
            try:
                self._fragment(
                    type_name,
                    condition,
                    self.routes.fragment_selections(selection),
                    [d for d in selection.directives or () if d.name.value != DEFER],
                    at,
                )
            finally:
                self.group = outer

    def _per_type(self, type_name: str, node: FieldNode, at: Position) -> None:
        """An abstract type's field this subgraph cannot answer for all its types: through
        an @interfaceObject subgraph that can, or per object type the subgraph returns."""
        type_info = self.supergraph.types[type_name]
        graph = self.routes.interface_object_for(
            type_info, node.name.value, at.fetch.graph, at.provided
        )
        if graph is not None:
            entity = self._entity_fetch(type_info, graph, at, for_field=node.name.value)
            self._emit(type_name, node, Position(entity, entity.root, at.path))
            return
        concretes = self.routes.possible_types(type_name, at.fetch.graph)
        if not concretes:
            raise AbstractFieldUnanswerable(at.fetch.graph, type_name, node.name.value)
        # The subgraph chosen for this abstract field must answer it for every type it may
        # return: going back to select the field again elsewhere for some of them would
        # trust two subgraphs to return the same object (a supergraph can make that wrong;
        # the reference planners refuse).
        floor, self.walk.rewind_floor = self.walk.rewind_floor, len(self.walk.trail)
        try:
            for concrete in concretes:
                self._field(concrete, node, at.into(at.target.on_type(concrete)))
        finally:
            self.walk.rewind_floor = floor

    def _interface_object(
        self, type_info: TypeInfo, selections: Sequence[SelectionNode], at: Position
    ) -> None:
        """This subgraph sees the interface as an object (@interfaceObject): it answers its
        own fields, and the interface's owner answers the real __typename and the rest.
        When nothing selected needs the concrete type, this subgraph answers alone and the
        response is shaped by the interface's own fields."""
        if not self.routes.needs_concrete_type(type_info, selections, at.fetch.graph, at.provided):
            for selection in selections:
                if not included(selection, self.variables):
                    continue
                if isinstance(selection, FieldNode):
                    self._field(type_info.name, selection, at)
                else:  # a fragment on the interface itself
                    inner = self.routes.fragment_selections(selection)
                    self._interface_object(type_info, inner, at)
            return
        owners = sorted(g for g in type_info.keys if g not in type_info.interface_object_graphs)
        if not owners:
            raise ConcreteTypeUnknown(at.fetch.graph, type_info.name)
        owner = self._entity_fetch(type_info, owners[0], at)
        owner.root.leaf("__typename", "__typename")
        rest: list[SelectionNode] = []
        for selection in selections:
            if not included(selection, self.variables):
                continue
            if (
                isinstance(selection, FieldNode)
                and not selection.name.value.startswith("__")
                and self.routes.resolves(
                    type_info.name, selection.name.value, at.fetch.graph, at.provided
                )
            ):
                self._field(type_info.name, selection, at)
            else:
                rest.append(selection)
        if rest:
            self._selections(type_info.name, rest, Position(owner, owner.root, at.path))

    def _fragment(
        self,
        type_name: str,
        condition: str,
        inner: Sequence[SelectionNode],
        directives: Sequence[DirectiveNode],
        at: Position,
    ) -> None:
        if condition == type_name:
            sub = at.target.on_type(None, directives) if directives else at.target
            self._selections(type_name, inner, at.into(sub))
            return
        condition_info = self.supergraph.types.get(condition)
        if condition_info is None:
            return
        parent_abstract = self.routes.is_abstract(type_name)
        if condition_info.kind not in ("interface", "union"):
            # A concrete type condition: kept only where this subgraph can return that type.
            if parent_abstract:
                if condition not in self.supergraph.possible_in(
                    type_name, at.fetch.graph
                ) or not self.positions.allows(at.path, condition):
                    return
                at.target.leaf("__typename", "__typename")
                sub = at.target.on_type(condition, directives)
                self._selections(condition, inner, at.into(sub))
            return
        # Whether a fragment applies is a question about supergraph types, even where this
        # subgraph does not declare the type condition (Oven implements Node elsewhere).
        possible = self.supergraph.possible.get(condition, frozenset())
        if not parent_abstract:
            # The object is of a known type: the fragment applies to it, or never does.
            if type_name in possible:
                sub = at.target.on_type(None, directives) if directives else at.target
                self._selections(type_name, inner, at.into(sub))
            return
        # Abstract in abstract: narrow to the object types both allow in this subgraph.
        at.target.leaf("__typename", "__typename")
        for concrete in self.supergraph.possible_in(type_name, at.fetch.graph):
            if (
                concrete in possible
                and self.supergraph.api_schema.get_type(concrete) is not None
                and self.positions.allows(at.path, concrete)
            ):
                sub = at.target.on_type(concrete, directives)
                self._selections(concrete, inner, at.into(sub))

    # -- one field ---------------------------------------------------------------------
    def _field(self, type_name: str, node: FieldNode, at: Position) -> None:
        name = node.name.value
        if name == "__typename":
            # head(): print_ast's text, without the printer for a plain __typename
            at.target.leaf(node.alias.value if node.alias else name, head(node), node)
            return
        type_info = self.supergraph.types[type_name]
        route = self.routes.route_field(type_info, node, at.fetch.graph, at.provided)
        if isinstance(route, Stay) and self._separable(type_info, name, at):
            # a deferred field the fetch of an earlier part would answer: an entity fetch
            # of its own into the same subgraph, so the earlier part does not wait for it
            entity = self._entity_fetch(type_info, at.fetch.graph, at, for_field=name)
            self._emit(type_name, node, Position(entity, entity.root, at.path))
        elif isinstance(route, Stay):
            self._emit(type_name, node, at)
        elif isinstance(route, Jump):
            entity = self._entity_fetch(type_info, route.graph, at, for_field=name)
            self._emit(type_name, node, Position(entity, entity.root, at.path))
        elif isinstance(route, Rewind):
            self._rewind(route.route, type_name, node, at.path)
        elif isinstance(route, ThroughInterfaceObject):
            entity = self._entity_fetch(route.interface, route.graph, at, (type_name,), name)
            self._emit(route.interface.name, node, Position(entity, entity.root, at.path))
        else:
            assert isinstance(route, WithContext)
            self._contextual(type_info, node, route.graph, at)

    def _separable(self, type_info: TypeInfo, name: str, at: Position) -> bool:
        """A field of the deferred fragment being planned that would go into a fetch of
        another part, and can be fetched on its own: its type is an entity the subgraph
        resolves by a key the fetch selects, and the field is the subgraph's own (not one
        a @provides along the path lends it), and not part of the key. Otherwise it rides
        with the earlier fetch and is still delivered with its part."""
        if at.fetch.group == self.group or self.internal:
            return False
        graph = at.fetch.graph
        if type_info.kind not in ("object", "interface") or graph in (
            type_info.interface_object_graphs
        ):
            return False
        key = self.routes.key_for(type_info, graph, graph, at.provided)
        return (
            key is not None
            # a key field is selected with the earlier fetch anyway, to send the key
            and all(node.name.value != name for node in key.fields)
            and self.routes.resolves(type_info.name, name, graph, NOTHING)
        )

    def _emit(self, type_name: str, node: FieldNode, at: Position) -> None:
        """The field selected in `at.fetch`, and the walk on into its selection."""
        name = node.name.value
        key = node.alias.value if node.alias else name
        field_def, info, api_type_text, return_type = self._field_facts(type_name, name)
        type_text = ""
        if field_def is not None:
            type_text = info.type_strings.get(at.fetch.graph, "") if info else ""
            type_text = type_text or api_type_text
        if node.selection_set is None:
            at.target.leaf(key, head(node), node, type_text)
            return
        if field_def is None:
            raise UnknownField(type_name, name)
        if info is not None and at.fetch.graph in info.provides:
            sub_provided = info.provides[at.fetch.graph].provided
        else:  # a nested part of a @provides further up
            sub_provided = at.provided.below(name, type_name)
        sub = at.target.field(key, head(node), node, type_text)
        self.positions.enter(type_name, name, return_type, (*at.path, key), at.fetch.graph)
        # The subgraph may declare a narrower type (`Book` for the supergraph's `Media`):
        # plan against what it declares, keeping __typename for the abstract answer.
        local_type = info.types.get(at.fetch.graph, return_type) if info else return_type
        if local_type != return_type and self.routes.is_abstract(return_type):
            sub.leaf("__typename", "__typename")
        self.walk.trail.append(Step(type_name, node, at))
        try:
            below = Position(at.fetch, sub, (*at.path, key), sub_provided)
            self._selections(local_type, node.selection_set.selections, below)
        finally:
            self.walk.trail.pop()

    def _field_facts(
        self, type_name: str, name: str
    ) -> tuple[GraphQLField | None, FieldInfo | None, str, str]:
        """The API schema's definition of a field (None for an @inaccessible field a
        requirement selects), its join information, its type as the API schema prints it
        and its named type: the supergraph's alone, worked out once per supergraph."""
        memo = self.supergraph.planning_memo
        facts: tuple[GraphQLField | None, FieldInfo | None, str, str] | None = memo.get(
            ("field", type_name, name)
        )
        if facts is None:
            field_def = self.routes.field_def(type_name, name)
            info = self.supergraph.types[type_name].fields.get(name)
            if field_def is None:
                facts = (None, info, "", "")
            else:
                facts = (field_def, info, str(field_def.type), get_named_type(field_def.type).name)
            memo["field", type_name, name] = facts
        return facts

    def _contextual(self, type_info: TypeInfo, node: FieldNode, graph: str, at: Position) -> None:
        """A field with arguments taken from context (@fromContext): each value is selected
        on the nearest ancestor that sets the context, like a requirement, and the field is
        fetched by an entity call of its own whose variables carry the values."""
        name = node.name.value
        bindings: list[ContextBinding] = []
        arguments = list(node.arguments or ())
        needed: list[FetchBuilder] = []
        for number, argument in enumerate(type_info.fields[name].context_arguments[graph]):
            depth = self.routes.context_step(argument.context)
            if depth is None:
                raise ContextNotSet(type_info.name, name, argument.name, argument.context)
            selected = argument.selection.fields
            if len(selected) != 1:
                raise ContextSelectionInvalid(argument.selection.text)
            step = self.walk.trail[depth]
            walked, self.walk.trail = self.walk.trail, self.walk.trail[:depth]
            mark = len(self.touched)
            try:
                value = self._required(step.type_name, selected[0], step.at)
            finally:
                self.walk.trail = walked
            needed += self.touched[mark:]
            variable = f"_fed_context_{number}"
            bindings.append(ContextBinding(variable, argument.type, len(step.at.path), value))
            arguments.append(
                ArgumentNode(
                    name=NameNode(value=argument.name),
                    value=VariableNode(name=NameNode(value=variable)),
                )
            )
        entity = self._entity_fetch(type_info, graph, at, for_field=name, dedicated=True)
        entity.context = tuple(bindings)
        entity.follows(needed)
        with_context = FieldNode(
            alias=node.alias,
            name=node.name,
            arguments=tuple(arguments),
            directives=node.directives,
            selection_set=node.selection_set,
        )
        self._emit(type_info.name, with_context, Position(entity, entity.root, at.path))

    # -- entity fetches ----------------------------------------------------------------
    def _entity_fetch(
        self,
        type_info: TypeInfo,
        graph: str,
        at: Position,
        accepts: Iterable[str] = (),
        for_field: str | None = None,
        dedicated: bool = False,
    ) -> FetchBuilder:
        """The entity at.fetch into `graph` for objects at `at.path`, keyed by a key the current
        at.fetch can select (or gather), carrying the fields `for_field` @requires
        (`dedicated`: a at.fetch of its own, never shared with other fields)."""
        if not type_info.keys.get(graph):
            raise NotAnEntity(type_info.name, graph)
        needed: list[FetchBuilder] = []  # what the key's and requirements' fields come from
        key = self.routes.key_for(type_info, graph, at.fetch.graph, at.provided)
        at.target.leaf("__typename", "__typename")
        if key is not None:
            representation = [self._key_field(type_info.name, n, at.target) for n in key.fields]
        else:
            # No key here: its fields come from subgraphs reachable by a key first.
            key = self.routes.gathered_key(type_info, graph, at.fetch.graph, at.provided)
            if key is None:
                raise NoKeyPath(type_info.name, at.fetch.graph, graph)
            mark = len(self.touched)
            representation = [
                replace(
                    self._required(type_info.name, node, at),
                    nullable=False,
                )
                for node in key.fields
            ]
            needed += self.touched[mark:]
        field_info = type_info.fields.get(for_field) if for_field else None
        if field_info is not None and graph in field_info.requires:
            mark = len(self.touched)
            for node in field_info.requires[graph].fields:
                representation.append(self._required(type_info.name, node, at))
            needed += self.touched[mark:]
        if not accepts and type_info.kind == "interface":
            # objects of the interface may already carry their concrete __typename
            accepts = {type_info.name, *self.supergraph.possible.get(type_info.name, ())}
        child = at.fetch.entity_child(
            graph,
            type_info.name,
            at.path,
            tuple(representation),
            self.touched,
            accepts,
            dedicated,
            needed,
            self.group,
        )
        child.representation = merged(child.representation, representation)
        child.follows(needed)
        return child

    def _key_field(self, type_name: str, node: FieldNode, target: Selection) -> KeyField:
        """A key field the current fetch selects itself, under an internal alias."""
        if node.selection_set is None:
            # the supergraph's key fields: their alias, text and KeyField made once
            memo = self.supergraph.planning_memo
            made = memo.get(("key_leaf", id(node)))
            if made is None or made[0] is not node:
                alias = internal_alias(node.name.value)
                made = (node, alias, head(node, alias), KeyField(node.name.value, alias))
                memo["key_leaf", id(node)] = made
            target.leaf(made[1], made[2])
            return made[3]
        name = node.name.value
        alias = internal_alias(name)
        sub = target.field(alias, head(node, alias))
        child_type = self.routes.named_return(type_name, name) or type_name
        children = []
        for child in node.selection_set.selections:
            if isinstance(child, FieldNode):
                if child.selection_set is None:
                    sub.leaf(child.name.value, child.name.value)
                    children.append(KeyField(child.name.value, child.name.value))
                else:
                    children.append(self._key_field(child_type, child, sub))
        return KeyField(name, alias, tuple(children))

    def _required(self, type_name: str, node: FieldNode, at: Position) -> KeyField:
        """A @requires (or context, or gathered key) field is planned like a client's field
        (it may live in other subgraphs, have arguments, fragments, abstract types), under an
        internal alias; the result says how to read its value back."""
        alias = requirement_alias(node)
        aliased = FieldNode(
            alias=NameNode(value=alias),
            name=node.name,
            arguments=node.arguments,
            directives=(),
            selection_set=node.selection_set,
        )
        self.internal += 1
        try:
            self._field(type_name, aliased, at)
        finally:
            self.internal -= 1
        child_type = self.routes.named_return(type_name, node.name.value) or type_name
        children: tuple[KeyField, ...] = ()
        if node.selection_set is not None:
            children = tuple(self._shape_of(child_type, node.selection_set.selections, None))
        return KeyField(node.name.value, alias, children, nullable=True)

    def _shape_of(
        self, type_name: str, selections: Sequence[SelectionNode], only_for: frozenset[str] | None
    ) -> Iterable[KeyField]:
        """How to read a requirement's value back out of the response."""
        if self.routes.is_abstract(type_name):
            yield KeyField("__typename", "__typename", nullable=True, only_for=only_for)
        for selection in selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                children: tuple[KeyField, ...] = ()
                if selection.selection_set is not None:
                    child_type = self.routes.named_return(type_name, name) or type_name
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

    # -- going back along the walk -----------------------------------------------------
    def _rewind(
        self, route: RewindRoute, type_name: str, node: FieldNode, path: tuple[str, ...]
    ) -> None:
        """A field no key leads to: enter its subgraph where the route says (a root fetch,
        an entity fetch from the step's fetch, or one beside it), select the walked path
        again there, and the field under it."""
        step, graph, chain = route.step, route.graph, route.chain
        parent_info = self.supergraph.types[step.type_name]
        if route.kind == "root":
            entry = self.by_graph.get((self.group, graph))
            if entry is None:
                entry = FetchBuilder(graph=graph, root=Selection(), group=self.group)
                self.by_graph[self.group, graph] = entry
                self.roots.append(entry)
        elif route.kind == "entity":
            entry = self._entity_fetch(parent_info, graph, step.at)
        else:
            entry = self._sibling_fetch(parent_info, graph, step)
        target = entry.root
        for index, walked in enumerate(chain):
            below = chain[index + 1].type_name if index + 1 < len(chain) else type_name
            target = self._reselect(walked, below, graph, target)
        self._field(type_name, node, Position(entry, target, path))

    def _sibling_fetch(self, type_info: TypeInfo, graph: str, step: Step) -> FetchBuilder:
        """An entity fetch beside the step's own, sent with the key fields it was sent with."""
        fields = self.routes.sibling_key(type_info, graph, step)
        source = step.at.fetch
        assert fields is not None and source.parent is not None  # the route checked both
        child = source.parent.entity_child(
            graph,
            type_info.name,
            step.at.path,
            fields,
            self.touched,
            source.accepts,
            group=self.group,
        )
        child.representation = merged(child.representation, fields)
        child.follows(source.after)
        return child

    def _reselect(self, step: Step, below: str, graph: str, target: Selection) -> Selection:
        """The field of a rewound path, selected again (same key and arguments)."""
        node = step.node
        key = node.alias.value if node.alias else node.name.value
        sub = target.field(key, head(node), node)
        declared = self.routes.named_return(step.type_name, node.name.value) or below
        info = self.supergraph.types[step.type_name].fields.get(node.name.value)
        local_type = info.types.get(graph, declared) if info else declared
        if self.routes.is_abstract(declared) or self.routes.is_abstract(local_type):
            sub.leaf("__typename", "__typename")
        if below != local_type and not self.routes.is_abstract(below):
            return sub.on_type(below)
        return sub


def plan_operation(
    supergraph: Supergraph,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
    deferred: Mapping[DeferKey, int] | None = None,
) -> QueryPlan:
    """`deferred`: the active deferred fragments (defer.find_deferred), whose fetches are
    planned apart; without them @defer is ignored."""
    return Planner(supergraph, document, operation, variables or {}, deferred).plan()
