"""Route choice: for a field at the point the walk has reached, where it is answered, as a
typed decision the planner then carries out. Nothing here builds fetches.

- `Stay`: the current fetch's subgraph answers it;
- `Jump`: an entity call into another subgraph (or back into this one, for @requires), keyed
  by a key the current fetch can select, or whose fields can be gathered first from other
  subgraphs (a -> b -> c);
- `Rewind`: no key leads there, so go back along the walk to the root of a query, to an
  entity, or beside an entity fetch, and select the path again in a subgraph that has it;
- `ThroughInterfaceObject`: an @interfaceObject subgraph answers it for every
  implementation;
- `WithContext`: the field takes arguments from an ancestor (@fromContext).

It also answers the schema questions those choices rest on (which subgraphs resolve a
field, for which types, under which @provides)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    SelectionNode,
    get_named_type,
    is_abstract_type,
)

from gateway.federation.conditions import included
from gateway.federation.fetch_tree import Step, covered
from gateway.federation.field_sets import NOTHING, FieldSet, Provided
from gateway.federation.plan import KeyField
from gateway.federation.planning_errors import NoResolver, UnknownField
from gateway.federation.supergraph import FieldInfo, Supergraph, TypeInfo

__all__ = [
    "MAX_KEY_HOPS",
    "FieldRoute",
    "Jump",
    "Rewind",
    "RewindRoute",
    "RouteFinder",
    "Stay",
    "ThroughInterfaceObject",
    "Walk",
    "WithContext",
]

# How many entity jumps gathering one field of a key may take (a key that needs a key that
# needs a key ...): enough for real supergraphs, and a bound on the search.
MAX_KEY_HOPS = 3

# misses() counts per subgraph, side by side in one int: room for more fields than any
# document the operation limits let through
_SLOT = 32
_SLOT_MASK = (1 << _SLOT) - 1


@dataclass
class Walk:
    """Where the planner's walk is: the fields from the nearest root down to here."""

    trail: list[Step] = field(default_factory=list)
    # going back along the walk stops above this depth (see Planner._selections)
    rewind_floor: int = 0
    is_query: bool = True


@dataclass(frozen=True)
class RewindRoute:
    """Where going back along the walk leads: a root fetch of `graph`, an entity fetch into
    it keyed from the fetch at `step`, or one beside that fetch keyed like it."""

    kind: str  # "root" | "entity" | "sibling"
    step: Step
    graph: str
    chain: Sequence[Step]  # the walk from `step` on, selected again in `graph`


@dataclass(frozen=True)
class Stay:
    pass


STAY = Stay()  # the most common decision, made once


@dataclass(frozen=True)
class Jump:
    graph: str


@dataclass(frozen=True)
class Rewind:
    route: RewindRoute


@dataclass(frozen=True)
class ThroughInterfaceObject:
    interface: TypeInfo
    graph: str


@dataclass(frozen=True)
class WithContext:
    graph: str


FieldRoute = Stay | Jump | Rewind | ThroughInterfaceObject | WithContext


class _Below(NamedTuple):
    """A field's selection as misses() reads it for every subgraph: the field's named type
    and join information, whether that type is abstract, and the fields selected under it
    (fragments flattened, no meta fields), each with the subgraphs that resolve it (None:
    not a field the supergraph knows on that type; resolves() decides)."""

    child_type: str
    info: FieldInfo | None
    abstract: bool
    children: tuple[tuple[FieldNode, set[str] | None], ...]


class RouteFinder:
    def __init__(
        self,
        supergraph: Supergraph,
        variables: Mapping[str, Any],
        fragments: Mapping[str, FragmentDefinitionNode],
        walk: Walk,
    ) -> None:
        self.supergraph = supergraph
        self.schema: GraphQLSchema = supergraph.api_schema
        self.variables = variables
        self.fragments = fragments
        self.walk = walk
        # misses() by (type, field node, graph, what is provided there): best_graph asks it
        # for every candidate subgraph at every level of a nested selection, each answer
        # walking the whole subtree again; one document's answers never change
        self._misses: dict[tuple[str, int, str, int], int] = {}
        self._belows: dict[tuple[str, int], _Below | None] = {}
        # misses() of a plain selection for every subgraph at once (_plain_misses), as
        # one number: a _SLOT-bit count per subgraph, in the supergraph's order
        self._plain: dict[tuple[str, int], int | None] = {}
        self._graphs = tuple(supergraph.subgraphs)
        self._slots = {graph: _SLOT * index for index, graph in enumerate(self._graphs)}
        self._graph_slots_seen: dict[int, tuple[set[str], int, int]] = {}

    # -- decisions -------------------------------------------------------------------------
    def route_field(
        self, type_info: TypeInfo, node: FieldNode, graph: str, provided: Provided
    ) -> FieldRoute:
        """Where a field selected in a fetch of `graph` is answered."""
        type_name, name = type_info.name, node.name.value
        info = type_info.fields.get(name)
        if info is None:
            raise UnknownField(type_name, name)
        if type_info is self.supergraph.types.get(type_name):  # resolves(), inline
            local = graph in info.graphs or (
                provided is not NOTHING and provided.has(name, type_name)
            )
        else:
            local = self.resolves(type_name, name, graph, provided)
        if info.context_arguments and not (local and graph not in info.context_arguments):
            return WithContext(graph if local else min(info.context_arguments))
        if local and graph not in info.requires:
            return STAY
        graphs = sorted(info.graphs)
        if not graphs:
            via = self.via_interface_object(type_name, name)
            if via is None:
                raise NoResolver(type_name, name)
            return ThroughInterfaceObject(*via)
        if local:  # resolvable here but needs @requires fields: back to this graph by key
            return Jump(graph)
        reachable = [g for g in graphs if self.key_for(type_info, g, graph, provided)]
        if not reachable:
            rewind = self.rewind_route(type_name, node, graphs)
            if rewind is not None:
                return Rewind(rewind)
            reachable = [g for g in graphs if self.gathered_key(type_info, g, graph, provided)]
            reachable = reachable or graphs  # the entity fetch fails, naming the missing key
        return Jump(self.best_graph(type_name, node, reachable, set()))

    def best_graph(
        self, type_name: str, node: FieldNode, candidates: Iterable[str], used: set[str]
    ) -> str:
        """Among subgraphs that resolve a field, the one that resolves most of what is
        selected under it (fewest jumps), then one already fetched from, then by name."""
        return min(
            sorted(candidates),
            key=lambda graph: (self.misses(type_name, node, graph), graph not in used),
        )

    def misses(
        self, type_name: str, node: FieldNode, graph: str, provided: Provided = NOTHING
    ) -> int:
        """How many fields under `node` the subgraph cannot resolve itself (what its
        @provides covers counts as resolved)."""
        if node.selection_set is None:
            return 0
        if provided is NOTHING:
            counts = self._plain_misses(type_name, node)
            slot = self._slots.get(graph)
            if counts is not None and slot is not None:
                return (counts >> slot) & _SLOT_MASK
        # the nodes and Provided trees are the document's and the supergraph's, alive while
        # this finder is: their ids are stable keys
        key = (type_name, id(node), graph, id(provided))
        known = self._misses.get(key)
        if known is None:
            known = self._misses[key] = self._count_misses(type_name, node, graph, provided)
        return known

    def _count_misses(self, type_name: str, node: FieldNode, graph: str, provided: Provided) -> int:
        below_node = self._below(type_name, node)
        if below_node is None:
            return 0
        if below_node.info is not None and graph in below_node.info.provides:
            below = below_node.info.provides[graph].provided
        else:
            below = provided.below(node.name.value, type_name)
        child_type = below_node.child_type
        abstract = below_node.abstract
        plain = below is NOTHING
        count = 0
        for child, graphs in below_node.children:
            if graphs is not None and plain:
                resolved = graph in graphs  # resolves(), for what is known and not provided
            else:
                resolved = self.resolves(child_type, child.name.value, graph, below)
            # for an abstract type, maybe only for some of the types it may be
            if not resolved and (
                not abstract
                or not any(
                    self.resolves(t, child.name.value, graph, below)
                    for t in self.possible_types(child_type, graph)
                )
            ):
                count += 1
                continue
            if child.selection_set is not None:
                count += self.misses(child_type, child, graph, below)
        return count

    def _plain_misses(self, type_name: str, node: FieldNode) -> int | None:
        """misses() with nothing provided, for every subgraph in one walk of the selection:
        best_graph asks it of each candidate, and each asked the children again. Only for
        a selection where `_count_misses` reads no @provides (none on the field) and knows
        every child's subgraphs on a type that is not abstract: the same sums, graph by
        graph, kept side by side in one number (a _SLOT-bit count per subgraph), so a
        child's counts are added to its parent's for all subgraphs at once. None: not such
        a selection (misses() counts it subgraph by subgraph)."""
        key = (type_name, id(node))
        if key in self._plain:
            return self._plain[key]
        below_node = self._below(type_name, node)
        counts: int | None = 0
        if below_node is not None and (
            below_node.abstract
            or (below_node.info is not None and below_node.info.provides)
            or any(graphs is None for _, graphs in below_node.children)
        ):
            counts = None
        if counts is not None and below_node is not None:
            child_type = below_node.child_type
            for child, graphs in below_node.children:
                assert graphs is not None
                # a 1 in each slot of a subgraph that does not resolve the child, and a
                # mask of the slots of those that do
                missing, present = self._graph_slots(graphs)
                counts += missing
                if child.selection_set is None:
                    continue
                below = self._plain_misses(child_type, child)
                if below is not None:
                    counts += below & present
                    continue
                for graph, slot in self._slots.items():
                    if graph in graphs:
                        counts += self.misses(child_type, child, graph) << slot
        self._plain[key] = counts
        return counts

    def _graph_slots(self, graphs: set[str]) -> tuple[int, int]:
        """For the subgraphs that resolve a field: a count of 1 in each slot of the others,
        and a mask of their own slots. The supergraph's sets: made once per supergraph."""
        made = self._graph_slots_seen.get(id(graphs))  # the sets live as long as the plan
        if made is not None:
            return made[1], made[2]
        memo = self.supergraph.planning_memo
        made = memo.get(("graph_slots", id(graphs)))
        if made is None or made[0] is not graphs:
            missing = present = 0
            for graph, slot in self._slots.items():
                if graph in graphs:
                    present |= _SLOT_MASK << slot
                else:
                    missing |= 1 << slot
            made = memo["graph_slots", id(graphs)] = (graphs, missing, present)
        self._graph_slots_seen[id(graphs)] = made
        return made[1], made[2]

    def _below(self, type_name: str, node: FieldNode) -> _Below | None:
        """What misses() needs of a field whatever the subgraph, found once per document;
        None for a field the API schema does not have."""
        key = (type_name, id(node))
        if key in self._belows:
            return self._belows[key]
        found = None
        if node.selection_set is not None:
            found = self._below_with(type_name, node)
        self._belows[key] = found
        return found

    def _below_with(self, type_name: str, node: FieldNode) -> _Below | None:
        assert node.selection_set is not None
        # the field's named type, its join information and the named type's, and whether
        # it is abstract: the supergraph's alone, once per supergraph
        memo = self.supergraph.planning_memo
        facts = memo.get(("below", type_name, node.name.value), memo)
        if facts is memo:
            field_def = self.field_def(type_name, node.name.value)
            facts = None
            if field_def is not None:
                child_type = get_named_type(field_def.type).name
                facts = (
                    child_type,
                    self.supergraph.types.get(child_type),
                    self.supergraph.types[type_name].fields.get(node.name.value),
                    is_abstract_type(self.schema.get_type(child_type)),
                )
            memo["below", type_name, node.name.value] = facts
        if facts is None:
            return None
        child_type, child_info, info, abstract = facts
        children = []
        for child in self.fields(node.selection_set.selections):
            name = child.name.value
            if name.startswith("__"):
                continue
            known = child_info.fields.get(name) if child_info is not None else None
            children.append((child, known.graphs if known is not None else None))
        return _Below(child_type, info, abstract, tuple(children))

    # -- keys --------------------------------------------------------------------------
    def key_for(
        self, type_info: TypeInfo, graph: str, from_graph: str, provided: Provided
    ) -> FieldSet | None:
        """A key of `graph` whose fields a fetch of `from_graph` can select. Without a
        @provides, the supergraph's answer alone: worked out once per supergraph."""
        memo = None
        if provided is NOTHING and self.supergraph.types.get(type_info.name) is type_info:
            memo = self.supergraph.planning_memo
            found = memo.get(("key_for", type_info.name, graph, from_graph), memo)
            if found is not memo:
                return found  # type: ignore[no-any-return]
        key = None
        for candidate in type_info.keys.get(graph, ()):
            if self.gatherable(type_info.name, candidate.fields, from_graph, provided, hops=0):
                key = candidate
                break
        if memo is not None:
            memo["key_for", type_info.name, graph, from_graph] = key
        return key

    def gathered_key(
        self, type_info: TypeInfo, graph: str, from_graph: str, provided: Provided
    ) -> FieldSet | None:
        """A key of `graph` whose fields can be gathered starting from a fetch of
        `from_graph`: each field selected there or in a subgraph a key away, nested fields
        likewise (a -> b for the `id` that c is keyed by; a list's `isbn` from b, its `id`
        from a), or by going back along the walk."""
        for key in type_info.keys.get(graph, ()):
            if self.gatherable(type_info.name, key.fields, from_graph, provided, at_walk=True):
                return key
        return None

    def gatherable(
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
        by going back along the walk. `hops` bounds how many jumps one field may take: with
        none, the fields are those a fetch of `graph` can select itself."""
        type_info = self.supergraph.types.get(type_name)
        if type_info is None:
            return False
        for node in nodes:
            name = node.name.value
            if self.resolves(type_name, name, graph, provided):
                if node.selection_set is None:
                    continue
                child_type = self.named_return(type_name, name) or type_name
                children = [s for s in node.selection_set.selections if isinstance(s, FieldNode)]
                below = provided.below(name, type_name)
                if self.gatherable(child_type, children, graph, below, hops):
                    continue
                if hops > 0 and self._gatherable_elsewhere(type_info, node, graph, hops):
                    continue
                return False
            if hops > 0 and self._gatherable_elsewhere(type_info, node, graph, hops):
                continue
            if at_walk:
                others = sorted(type_info.resolvers_of(name) - {graph})
                if self.rewind_route(type_name, node, others) is not None:
                    continue
            return False
        return True

    def _gatherable_elsewhere(
        self, type_info: TypeInfo, node: FieldNode, graph: str, hops: int
    ) -> bool:
        for other in sorted(type_info.resolvers_of(node.name.value) - {graph}):
            if not self.gatherable(type_info.name, [node], other, NOTHING, hops - 1):
                continue
            for key in type_info.keys.get(other, ()):
                if self.gatherable(type_info.name, key.fields, graph, NOTHING, hops - 1):
                    return True
        return False

    # -- going back along the walk -----------------------------------------------------
    def rewind_route(
        self, type_name: str, node: FieldNode, graphs: Sequence[str]
    ) -> RewindRoute | None:
        """The nearest step of the walk from which one of `graphs` can be entered and the
        rest of the path selected again, decided without planning anything."""
        trail = self.walk.trail
        for depth in range(len(trail) - 1, self.walk.rewind_floor - 1, -1):
            step = trail[depth]
            chain = trail[depth:]
            for graph in graphs:
                if graph == step.at.fetch.graph or not self._walkable(
                    chain, type_name, node, graph
                ):
                    continue
                if not step.at.path and step.at.fetch.entity_type is None:
                    if self.walk.is_query:  # a mutation's root field is never run twice
                        return RewindRoute("root", step, graph, chain)
                    continue
                parent_info = self.supergraph.types[step.type_name]
                if (
                    self.key_for(parent_info, graph, step.at.fetch.graph, step.at.provided)
                    is not None
                ):
                    return RewindRoute("entity", step, graph, chain)
                if self.sibling_key(parent_info, graph, step) is not None:
                    return RewindRoute("sibling", step, graph, chain)
        return None

    def sibling_key(
        self, type_info: TypeInfo, graph: str, step: Step
    ) -> tuple[KeyField, ...] | None:
        """When the walk is inside an entity fetch at the entity itself, the key fields that
        fetch was sent with are on the object too (its parent selected them): a key of
        `graph` made of them lets a sibling fetch enter `graph` there."""
        source = step.at.fetch
        if (
            source.parent is None
            or source.entity_type != type_info.name
            or source.path != step.at.path
        ):
            return None
        for key in type_info.keys.get(graph, ()):
            fields = covered(source.representation, key.fields)
            if fields is not None:
                return fields
        return None

    def _walkable(self, chain: Sequence[Step], type_name: str, node: FieldNode, graph: str) -> bool:
        for index, walked in enumerate(chain):
            if not self.resolves(walked.type_name, walked.node.name.value, graph, NOTHING):
                return False
            below = chain[index + 1].type_name if index + 1 < len(chain) else type_name
            if self.is_abstract(below):
                continue
            if graph not in self.supergraph.types[below].graphs:
                return False
        return self.resolves(type_name, node.name.value, graph, NOTHING)

    def context_step(self, context: str) -> int | None:
        """The nearest step of the walk whose object sets `context`."""
        trail = self.walk.trail
        for depth in range(len(trail) - 1, -1, -1):
            if self.supergraph.sets_context(trail[depth].type_name, context):
                return depth
        return None

    # -- interfaces --------------------------------------------------------------------
    def via_interface_object(self, type_name: str, field_name: str) -> tuple[TypeInfo, str] | None:
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

    def interface_object_for(
        self, info: TypeInfo, field_name: str, graph: str, provided: Provided
    ) -> str | None:
        """An @interfaceObject subgraph, reachable by key from `graph`, that answers an
        interface's field for every implementation at once."""
        field_info = info.fields.get(field_name)
        if field_info is None:
            return None
        for other in sorted(field_info.graphs & info.interface_object_graphs):
            if self.key_for(info, other, graph, provided) is not None:
                return other
        return None

    def needs_concrete_type(
        self,
        type_info: TypeInfo,
        selections: Sequence[SelectionNode],
        graph: str,
        provided: Provided,
    ) -> bool:
        """Whether an @interfaceObject answer must learn its objects' concrete types: a
        __typename, a type condition other than the interface, or a field of another
        subgraph is selected."""
        for selection in selections:
            if not included(selection, self.variables):
                continue
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name == "__typename" or not self.resolves(type_info.name, name, graph, provided):
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
            if self.needs_concrete_type(
                type_info, self.fragment_selections(selection), graph, provided
            ):
                return True
        return False

    # -- schema knowledge --------------------------------------------------------------
    def resolves(self, type_name: str, field_name: str, graph: str, provided: Provided) -> bool:
        info = self.supergraph.types.get(type_name)
        if info is None:
            return False
        if provided is not NOTHING and provided.has(field_name, type_name):
            return True
        field_info = info.fields.get(field_name)
        if field_info is None:
            return field_name.startswith("__")
        return graph in field_info.graphs

    def resolves_for_all(
        self, type_name: str, field_name: str, graph: str, provided: Provided
    ) -> bool:
        """An abstract type's field a subgraph answers whatever the object's type: not when
        an implementation has it @external or overridden elsewhere."""
        if not self.resolves(type_name, field_name, graph, provided):
            return False
        for concrete in self.supergraph.possible_in(type_name, graph):
            info = self.supergraph.types[concrete]
            if field_name in info.fields and not self.resolves(
                concrete, field_name, graph, provided
            ):
                return False
        return True

    def possible_types(self, type_name: str, graph: str) -> list[str]:
        """Object types of an abstract type that `graph` may return and clients may see."""
        named = self.schema.get_type(type_name)
        if named is None or not is_abstract_type(named):
            return [type_name]
        return [t for t in self.supergraph.possible_in(type_name, graph) if self.schema.get_type(t)]

    def is_abstract(self, type_name: str) -> bool:
        info = self.supergraph.types.get(type_name)
        return info is not None and info.kind in ("interface", "union")

    def named_return(self, type_name: str, field_name: str) -> str | None:
        field_def = self.field_def(type_name, field_name)
        return get_named_type(field_def.type).name if field_def else None

    def field_def(self, type_name: str, field_name: str) -> GraphQLField | None:
        named = self.schema.get_type(type_name)
        fields = getattr(named, "fields", None)
        return fields.get(field_name) if fields else None

    # -- the client's selections -------------------------------------------------------
    def fields(self, selections: Iterable[SelectionNode]) -> list[FieldNode]:
        """The fields selected, fragments flattened (what a subgraph would have to answer
        below a field, whatever the types)."""
        out: list[FieldNode] = []
        for selection in selections:
            if not included(selection, self.variables):
                continue
            if isinstance(selection, FieldNode):
                out.append(selection)
            else:
                out.extend(self.fields(self.fragment_selections(selection)))
        return out

    def fragment_selections(self, selection: SelectionNode) -> Sequence[SelectionNode]:
        if isinstance(selection, FragmentSpreadNode):
            return self.fragments[selection.name.value].selection_set.selections
        assert isinstance(selection, InlineFragmentNode)
        return selection.selection_set.selections
