"""Stage 1: the supergraph SDL (link v1.0, join v0.3-v0.5) parsed into an immutable model of
subgraphs, types, keys and fields, plus the API schema clients see (no join or link
machinery, no @inaccessible elements)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    FieldDefinitionNode,
    GraphQLDeferDirective,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    SchemaDefinitionNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    build_ast_schema,
    parse,
    validate_schema,
    value_from_ast_untyped,
)
from graphql.language import DirectiveDefinitionNode, SchemaExtensionNode

from gateway.federation.authorization import AuthorizationRules
from gateway.federation.demand import DemandWeights
from gateway.federation.field_sets import FieldSet, FieldSetError

__all__ = ["ContextArgument", "FieldInfo", "Subgraph", "Supergraph", "SupergraphError", "TypeInfo"]

# the supergraph's own machinery, and the scalars of the authorization specs' directives
_MACHINERY_PREFIXES = ("join__", "link__", "requiresScopes__", "policy__")


class SupergraphError(ValueError):
    """The text is GraphQL but no supergraph this gateway can serve."""


@dataclass(frozen=True)
class Subgraph:
    enum_value: str  # e.g. INVENTORY, as named in join__Graph
    name: str
    url: str


@dataclass(frozen=True)
class ContextArgument:
    """An argument a subgraph's field takes from an ancestor (`@fromContext`, join v0.5):
    `selection` read on the nearest ancestor whose type sets `context` (`@context`)."""

    name: str
    type: str  # the argument's type as the subgraph declares it, e.g. "String"
    context: str
    selection: FieldSet  # e.g. "{ currency }"


@dataclass
class FieldInfo:
    name: str
    # graph -> how that graph knows the field
    graphs: set[str] = field(default_factory=set)  # graphs that resolve it
    requires: dict[str, FieldSet] = field(default_factory=dict)
    provides: dict[str, FieldSet] = field(default_factory=dict)
    # graph -> the named type the field has there, when it differs from the supergraph's
    # (a subgraph may return `Book` where the supergraph says `Media`)
    types: dict[str, str] = field(default_factory=dict)
    type_strings: dict[str, str] = field(default_factory=dict)  # the same, wrappers kept
    # progressive @override (join v0.4+): graph -> (label, whether it resolves the field
    # when the label is active). The new owner resolves it under the label, the old owner
    # without; Supergraph.for_labels picks one for a request.
    labels: dict[str, tuple[str, bool]] = field(default_factory=dict)
    # graph -> the arguments it takes from context (the API schema does not show them)
    context_arguments: dict[str, tuple[ContextArgument, ...]] = field(default_factory=dict)


@dataclass
class TypeInfo:
    name: str
    kind: str  # object | interface | union | ...
    graphs: set[str] = field(default_factory=set)
    keys: dict[str, list[FieldSet]] = field(default_factory=dict)  # resolvable keys per graph
    interface_object_graphs: set[str] = field(default_factory=set)
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    interfaces: set[str] = field(default_factory=set)  # what it implements, all graphs
    implements: dict[str, set[str]] = field(default_factory=dict)  # per graph (join__implements)
    members: set[str] = field(default_factory=set)  # a union's members, all graphs
    union_members: dict[str, set[str]] = field(default_factory=dict)  # per graph
    # the contexts its objects set (@context on the type, or on an interface it implements
    # or a union it belongs to)
    contexts: set[str] = field(default_factory=set)

    def resolvers_of(self, field_name: str) -> set[str]:
        info = self.fields.get(field_name)
        return set(info.graphs) if info is not None else set()


def _arguments(node: DirectiveNode) -> dict[str, Any]:
    return {arg.name.value: value_from_ast_untyped(arg.value) for arg in node.arguments or ()}


def _directives(node: Any, name: str) -> list[dict[str, Any]]:
    return [_arguments(d) for d in (node.directives or ()) if d.name.value == name]


@dataclass
class Supergraph:
    subgraphs: dict[str, Subgraph]  # by enum value
    types: dict[str, TypeInfo]
    api_schema: GraphQLSchema
    query_type: str = "Query"
    mutation_type: str | None = None
    subscription_type: str | None = None
    # abstract type -> its object types in the whole supergraph, @inaccessible ones too
    possible: dict[str, frozenset[str]] = field(default_factory=dict)
    # the labels of progressive @override in this supergraph
    override_labels: frozenset[str] = frozenset()
    demand: DemandWeights = field(default_factory=DemandWeights)  # @cost and @listSize
    # @authenticated and @requiresScopes
    authorization: AuthorizationRules = field(default_factory=AuthorizationRules)
    _by_labels: dict[frozenset[str], Supergraph] = field(default_factory=dict, repr=False)
    _validation: GraphQLSchema | None = field(default=None, repr=False)
    # answers the planner works out from the supergraph alone (routes.RouteFinder), kept
    # for every document: bounded by what the supergraph holds; a view for other labels
    # starts its own
    planning_memo: dict[tuple[Any, ...], Any] = field(
        default_factory=dict, repr=False, compare=False
    )

    def validation_schema(self) -> GraphQLSchema:
        """The API schema operations are validated against: with @defer, which the
        gateway serves itself (a supergraph does not declare it). Not the one graphql-core
        executes over: it refuses a schema with @defer unless experimental execution is on."""
        if self._validation is None:
            schema = self.api_schema
            if schema.get_directive("defer") is None:
                kwargs: dict[str, Any] = dict(schema.to_kwargs())
                kwargs["directives"] = (*schema.directives, GraphQLDeferDirective)
                schema = GraphQLSchema(**kwargs)
            self._validation = schema
        return self._validation

    def for_labels(self, active: frozenset[str]) -> Supergraph:
        """The supergraph as one request sees it: each field under a progressive @override
        resolved by its new owner where its label is active, by its old owner elsewhere.
        One view per set of labels, made once (labels are few: the supergraph names them)."""
        if not self.override_labels:
            return self
        active = active & self.override_labels
        view = self._by_labels.get(active)
        if view is None:
            view = self._by_labels[active] = replace(
                self,
                types={name: _labelled(info, active) for name, info in self.types.items()},
                override_labels=frozenset(),
                _by_labels={},
                planning_memo={},
            )
        return view

    @cached_property
    def has_abstract_types(self) -> bool:
        """Whether any interface or union is in the supergraph (a view for other labels is
        a new object, and works it out again)."""
        return any(info.kind in ("interface", "union") for info in self.types.values())

    def sets_context(self, type_name: str, context: str) -> bool:
        info = self.types.get(type_name)
        return info is not None and context in info.contexts

    def possible_in(self, abstract: str, graph: str) -> list[str]:
        """The object types a subgraph may return for an abstract type, as that subgraph
        declares them (a union or interface can have other members in other subgraphs)."""
        info = self.types.get(abstract)
        if info is None or info.kind not in ("interface", "union"):
            return [abstract]
        out = []
        for name in self.possible.get(abstract, ()):
            concrete = self.types[name]
            if graph not in concrete.graphs:
                continue
            # join__unionMember / join__implements, when the supergraph has them, say per graph
            if info.kind == "union":
                if info.union_members and name not in info.union_members.get(graph, ()):
                    continue
            elif concrete.implements and abstract not in concrete.implements.get(graph, ()):
                continue
            out.append(name)
        return sorted(out)

    @classmethod
    def parse(cls, sdl: str) -> Supergraph:
        document = parse(sdl)
        imports = _link_names(document)
        join, inaccessible = imports.get("join", "join"), imports.get("inaccessible")
        subgraphs = _subgraphs(document)
        types: dict[str, TypeInfo] = {}
        for definition in document.definitions:
            if isinstance(definition, TypeDefinitionNode) and not _machinery(definition):
                try:
                    info = _type_info(definition, join, subgraphs)
                except FieldSetError as error:
                    raise SupergraphError(f"{definition.name.value}: {error}") from None
                info.contexts = {
                    str(d["name"])
                    for d in _directives(definition, imports.get("context", "context"))
                }
                types[definition.name.value] = info
        possible = _possible_types(types)
        for name, abstract in types.items():  # a context set on an abstract type: its objects'
            for member in possible.get(name, ()) if abstract.contexts else ():
                types[member].contexts |= abstract.contexts
        api = _api_schema(document, inaccessible)
        mutation = api.mutation_type.name if api.mutation_type else None
        subscription = api.subscription_type.name if api.subscription_type else None
        query = api.query_type.name if api.query_type else "Query"
        return cls(
            subgraphs=subgraphs,
            types=types,
            api_schema=api,
            query_type=query,
            mutation_type=mutation,
            subscription_type=subscription,
            possible=possible,
            demand=DemandWeights.of(document),
            authorization=AuthorizationRules.of(document, imports),
            override_labels=frozenset(
                label
                for info in types.values()
                for field_info in info.fields.values()
                for label, _ in field_info.labels.values()
            ),
        )


def _labelled(info: TypeInfo, active: frozenset[str]) -> TypeInfo:
    if not any(f.labels for f in info.fields.values()):
        return info
    fields = {}
    for name, field_info in info.fields.items():
        if field_info.labels:
            graphs = {
                graph
                for graph in field_info.graphs
                if graph not in field_info.labels
                or field_info.labels[graph][1] == (field_info.labels[graph][0] in active)
            }
            field_info = replace(field_info, graphs=graphs, labels={})
        fields[name] = field_info
    return replace(info, fields=fields)


def _possible_types(types: dict[str, TypeInfo]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for info in types.values():
        if info.kind == "union":
            found.setdefault(info.name, set()).update(info.members)
        elif info.kind == "interface":
            found.setdefault(info.name, set())
    for info in types.values():
        if info.kind == "object":
            for interface in info.interfaces:
                found.setdefault(interface, set()).add(info.name)
    return {name: frozenset(objects) for name, objects in found.items()}


def _link_names(document: DocumentNode) -> dict[str, str]:
    """Spec name -> local name of its directives (link's `as:` and `import:` renames)."""
    names: dict[str, str] = {}
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for link in _directives(definition, "link"):
            url = str(link.get("url", ""))
            spec = url.rstrip("/").split("/")[-2] if "/v" in url else url
            names[spec] = str(link.get("as") or spec)
            for item in link.get("import") or ():
                if isinstance(item, str) and item.lstrip("@") == "inaccessible":
                    names["inaccessible"] = "inaccessible"
                elif isinstance(item, dict) and str(item.get("name", "")).lstrip("@") == (
                    "inaccessible"
                ):
                    names["inaccessible"] = str(item.get("as", "@inaccessible")).lstrip("@")
            if spec == "inaccessible" and "inaccessible" not in names:
                names["inaccessible"] = f"{names[spec]}"
    return names


def _subgraphs(document: DocumentNode) -> dict[str, Subgraph]:
    for definition in document.definitions:
        if isinstance(definition, EnumTypeDefinitionNode) and (
            definition.name.value == "join__Graph"
        ):
            graphs = {}
            for value in definition.values or ():
                for graph in _directives(value, "join__graph"):
                    graphs[value.name.value] = Subgraph(
                        value.name.value, str(graph["name"]), str(graph["url"])
                    )
            return graphs
    raise SupergraphError("not a supergraph: no join__Graph enum")


def _machinery(definition: TypeDefinitionNode) -> bool:
    return definition.name.value.startswith(_MACHINERY_PREFIXES)


def _type_info(
    definition: TypeDefinitionNode, join: str, subgraphs: dict[str, Subgraph]
) -> TypeInfo:
    kind = {
        ObjectTypeDefinitionNode: "object",
        InterfaceTypeDefinitionNode: "interface",
        UnionTypeDefinitionNode: "union",
        EnumTypeDefinitionNode: "enum",
        InputObjectTypeDefinitionNode: "input",
        ScalarTypeDefinitionNode: "scalar",
    }.get(type(definition), "other")
    info = TypeInfo(definition.name.value, kind)
    for joined in _directives(definition, f"{join}__type"):
        graph = str(joined["graph"])
        info.graphs.add(graph)
        if joined.get("isInterfaceObject"):
            info.interface_object_graphs.add(graph)
        key = joined.get("key")
        if key and joined.get("resolvable", True) is not False:
            info.keys.setdefault(graph, []).append(FieldSet.parse(str(key)))
    if not info.graphs:
        info.graphs = set(subgraphs)
    info.interfaces = {i.name.value for i in getattr(definition, "interfaces", None) or ()}
    for joined in _directives(definition, f"{join}__implements"):
        info.implements.setdefault(str(joined["graph"]), set()).add(str(joined["interface"]))
    if isinstance(definition, UnionTypeDefinitionNode):
        info.members = {t.name.value for t in definition.types or ()}
        for joined in _directives(definition, f"{join}__unionMember"):
            info.union_members.setdefault(str(joined["graph"]), set()).add(str(joined["member"]))
    fields: Iterable[FieldDefinitionNode] = getattr(definition, "fields", None) or ()
    for field_node in fields:
        info.fields[field_node.name.value] = _field_info(field_node, join, info.graphs)
    return info


def _field_info(node: FieldDefinitionNode, join: str, type_graphs: set[str]) -> FieldInfo:
    info = FieldInfo(node.name.value)
    joins = _directives(node, f"{join}__field")
    if not joins:
        info.graphs = set(type_graphs)
        return info
    for joined in joins:
        graph = joined.get("graph")
        if graph is None:
            continue
        graph = str(graph)
        if joined.get("usedOverridden"):
            continue
        if joined.get("external"):
            continue
        info.graphs.add(graph)
        label = joined.get("overrideLabel")
        if label:
            info.labels[graph] = (str(label), bool(joined.get("override")))
        if joined.get("contextArguments"):
            info.context_arguments[graph] = tuple(
                ContextArgument(
                    str(argument["name"]),
                    str(argument["type"]),
                    str(argument["context"]),
                    FieldSet.parse(str(argument["selection"])),
                )
                for argument in joined["contextArguments"]
            )
        if joined.get("requires"):
            info.requires[graph] = FieldSet.parse(str(joined["requires"]))
        if joined.get("provides"):
            info.provides[graph] = FieldSet.parse(str(joined["provides"]))
        if joined.get("type"):
            info.types[graph] = str(joined["type"]).strip("[]!")
            info.type_strings[graph] = str(joined["type"])
    # A join__field without a graph (a field an @interfaceObject adds to the implementations)
    # leaves `graphs` empty: the planner reaches it through the interface.
    return info


def _api_schema(document: DocumentNode, inaccessible: str | None) -> GraphQLSchema:
    """The supergraph without federation machinery and without @inaccessible elements."""

    def hidden(node: Any) -> bool:
        return inaccessible is not None and any(
            d.name.value == inaccessible for d in (getattr(node, "directives", None) or ())
        )

    def strip(node: Any, **changes: Any) -> Any:
        kept = tuple(d for d in (node.directives or ()) if _kept_directive(d))
        return _replace(node, directives=kept, **changes)

    definitions = []
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            continue
        if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            definitions.append(strip(definition))
            continue
        if not isinstance(definition, TypeDefinitionNode) or _machinery(definition):
            continue
        if hidden(definition):
            continue
        changes: dict[str, Any] = {}
        if isinstance(
            definition,
            ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode | InputObjectTypeDefinitionNode,
        ):
            changes["fields"] = tuple(
                _strip_field(f, hidden, strip) for f in definition.fields or () if not hidden(f)
            )
        if isinstance(definition, EnumTypeDefinitionNode):
            changes["values"] = tuple(strip(v) for v in definition.values or () if not hidden(v))
        definitions.append(strip(definition, **changes))
    hidden_types = {
        d.name.value
        for d in document.definitions
        if isinstance(d, TypeDefinitionNode) and hidden(d)
    }
    definitions = [_without_types(d, hidden_types) for d in definitions]
    try:
        schema = build_ast_schema(
            DocumentNode(definitions=tuple(definitions)), assume_valid_sdl=True
        )
        errors = validate_schema(schema)
    except TypeError as error:  # graphql-core's words for a type it cannot resolve
        raise SupergraphError(f"invalid API schema: {error}") from None
    # Refused here rather than at the first request, where graphql-core's validation would
    # raise for every operation: a gateway never starts, or reloads, on a schema it cannot serve.
    if errors:
        raise SupergraphError("invalid API schema: " + "; ".join(e.message for e in errors))
    return schema


def _kept_directive(directive: DirectiveNode) -> bool:
    return directive.name.value in ("deprecated", "specifiedBy", "oneOf")


def _replace(node: Any, **changes: Any) -> Any:
    return node.__class__(**{**{k: getattr(node, k) for k in node.keys}, **changes})


def _strip_field(node: Any, hidden: Any, strip: Any) -> Any:
    if isinstance(node, FieldDefinitionNode):
        return strip(node, arguments=tuple(strip(a) for a in node.arguments or () if not hidden(a)))
    return strip(node)


def _without_types(definition: Any, hidden_types: set[str]) -> Any:
    """Unions and implements lists lose members that are inaccessible."""
    if isinstance(definition, UnionTypeDefinitionNode) and definition.types:
        return _replace(
            definition, types=tuple(t for t in definition.types if t.name.value not in hidden_types)
        )
    if isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode) and (
        definition.interfaces
    ):
        return _replace(
            definition,
            interfaces=tuple(i for i in definition.interfaces if i.name.value not in hidden_types),
        )
    return definition
