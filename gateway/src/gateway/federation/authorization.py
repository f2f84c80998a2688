"""The federation authorization directives, enforced before planning (Apollo Router's
authorization directives): `@authenticated` and `@requiresScopes(scopes: [[Scope!]!]!)` on
fields and on types in the supergraph.

A field is out of a caller's reach when the field, the type it returns, or the type it is
selected on (a fragment's type condition; for an interface or union, any of its object
types) carries a requirement the caller does not meet. Such a field is taken out of the
operation the planner sees, so no subgraph is asked for it; when the response is shaped
from the client's own operation it is `null` with an error coded `UNAUTHENTICATED` (an
anonymous caller) or `FORBIDDEN` (a signed-in caller without the scopes), at its path, and
a non-null field's null goes up to its parent as the GraphQL spec says.

`@requiresScopes(scopes: [["a", "b"], ["c"]])` reads: (a and b) or c. A caller's scopes are
its role and the scopes its token grants.

Per operation, the requirements it meets on its way are collected once (`OperationGuard`,
cached with the prepared operation); per request, which of them the caller fails is a few
set checks, and names the plan (the pipeline keeps a plan per set of failed requirements,
so a plan filtered for one caller is never served to another who may see more)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    NameNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    TypeDefinitionNode,
    get_named_type,
    is_abstract_type,
    value_from_ast_untyped,
)

__all__ = [
    "ANONYMOUS",
    "Access",
    "AuthorizationRules",
    "Filtered",
    "OperationGuard",
    "Requirement",
    "authorize",
]

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
_TYPENAME = FieldNode(name=NameNode(value="__typename"))
_MAX_ACCESS_KINDS = 16  # verdicts an operation keeps, one per kind of caller


@dataclass(frozen=True)
class Access:
    """What a caller holds: whether it is signed in, and its scopes."""

    authenticated: bool
    scopes: frozenset[str] = frozenset()

    @classmethod
    def signed_in(cls, role: str, scopes: Iterable[str] = ()) -> Access:
        return cls(True, frozenset({role, *scopes}))


ANONYMOUS = Access(False)


@dataclass(frozen=True)
class Requirement:
    """One element's requirement: signed in, and (when `any_of` is not empty) every scope
    of at least one of its sets."""

    authenticated: bool = False
    any_of: tuple[frozenset[str], ...] = ()

    def met_by(self, access: Access) -> bool:
        if (self.authenticated or self.any_of) and not access.authenticated:
            return False
        return not self.any_of or any(needed <= access.scopes for needed in self.any_of)

    def __and__(self, other: Requirement) -> Requirement:
        """Both requirements: signed in if either asks, scopes of one set of each."""
        if not other.any_of:
            any_of = self.any_of
        elif not self.any_of:
            any_of = other.any_of
        else:
            any_of = tuple(dict.fromkeys(a | b for a in self.any_of for b in other.any_of))
        return Requirement(self.authenticated or other.authenticated, any_of)


@dataclass(frozen=True)
class AuthorizationRules:
    """The requirements a supergraph declares: by type, and by (type, field)."""

    types: Mapping[str, Requirement] = field(default_factory=dict)
    fields: Mapping[tuple[str, str], Requirement] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.types or self.fields)

    @classmethod
    def of(cls, document: DocumentNode, names: Mapping[str, str]) -> AuthorizationRules:
        """From a supergraph; `names`: spec name -> the local name its link gives it (a
        supergraph that links neither spec declares no requirement)."""
        authenticated = names.get("authenticated")
        requires_scopes = names.get("requiresScopes")
        if authenticated is None and requires_scopes is None:
            return cls()

        def requirement(node: Any) -> Requirement | None:
            found: Requirement | None = None
            for directive in getattr(node, "directives", None) or ():
                one = _requirement(directive, authenticated, requires_scopes)
                if one is not None:
                    found = one if found is None else found & one
            return found

        types: dict[str, Requirement] = {}
        fields: dict[tuple[str, str], Requirement] = {}
        for definition in document.definitions:
            if not isinstance(definition, TypeDefinitionNode):
                continue
            name = definition.name.value
            own = requirement(definition)
            if own is not None:
                types[name] = own
            for field_node in getattr(definition, "fields", None) or ():
                found = requirement(field_node)
                if found is not None:
                    fields[(name, field_node.name.value)] = found
        return cls(types, fields)


def _requirement(
    directive: DirectiveNode, authenticated: str | None, requires_scopes: str | None
) -> Requirement | None:
    name = directive.name.value
    if name == authenticated:
        return Requirement(authenticated=True)
    if name != requires_scopes:
        return None
    for argument in directive.arguments or ():
        if argument.name.value == "scopes":
            value = value_from_ast_untyped(argument.value)
            if isinstance(value, list):
                return Requirement(
                    any_of=tuple(
                        frozenset(str(scope) for scope in group)
                        for group in value
                        if isinstance(group, list)
                    )
                )
    return Requirement(any_of=(frozenset(),))  # no scopes named: any signed-in caller


@dataclass(frozen=True)
class Filtered:
    """An operation as one caller may run it."""

    document: DocumentNode  # the operation alone, its fragments inlined
    operation: OperationDefinitionNode
    # the client's own field nodes taken out (by id: nodes of the prepared document, which
    # outlives this), with the code of their error
    denied: Mapping[int, str]

    def error(self, nodes: Iterable[FieldNode]) -> GraphQLError | None:
        """The error for a field of the client's operation, None when it may be seen."""
        for node in nodes:
            code = self.denied.get(id(node))
            if code is not None:
                message = (
                    "sign in to see this field"
                    if code == UNAUTHENTICATED
                    else "this field needs a scope you do not have"
                )
                return GraphQLError(message, extensions={"code": code})
        return None


class OperationGuard:
    """The distinct requirements an operation meets on its way (none for most)."""

    __slots__ = ("_failed", "requirements")

    def __init__(self, requirements: tuple[Requirement, ...]) -> None:
        self.requirements = requirements
        self._failed: dict[Access, frozenset[Requirement]] = {}  # callers are of few kinds

    @classmethod
    def of(
        cls,
        schema: GraphQLSchema,
        rules: AuthorizationRules,
        document: DocumentNode,
        operation: OperationDefinitionNode,
    ) -> OperationGuard:
        if not rules:
            return NO_GUARD
        seen: dict[Requirement, None] = {}

        def note(requirement: Requirement) -> bool:
            seen[requirement] = None
            return True

        _Walk(schema, rules, document, note).operation(operation)
        return cls(tuple(seen)) if seen else NO_GUARD

    def failed(self, access: Access) -> frozenset[Requirement]:
        """The requirements this caller does not meet: what its plan depends on."""
        if not self.requirements:
            return frozenset()
        failed = self._failed.get(access)
        if failed is None:
            failed = frozenset(r for r in self.requirements if not r.met_by(access))
            if len(self._failed) < _MAX_ACCESS_KINDS:
                self._failed[access] = failed
        return failed


NO_GUARD = OperationGuard(())


def authorize(
    schema: GraphQLSchema,
    rules: AuthorizationRules,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    failed: frozenset[Requirement],
    authenticated: bool,
) -> Filtered:
    """The operation without the fields whose requirements are among `failed`."""
    code = FORBIDDEN if authenticated else UNAUTHENTICATED
    walk = _Walk(schema, rules, document, lambda requirement: requirement not in failed)
    filtered = walk.operation(operation)
    return Filtered(
        DocumentNode(definitions=(filtered,)), filtered, dict.fromkeys(walk.denied, code)
    )


class _Walk:
    """The operation walked with the schema's types: each field's requirement checked
    (`allowed`), the fields it refuses left out and their nodes noted."""

    def __init__(
        self,
        schema: GraphQLSchema,
        rules: AuthorizationRules,
        document: DocumentNode,
        allowed: Callable[[Requirement], bool],
    ) -> None:
        self.schema = schema
        self.rules = rules
        self.allowed = allowed
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.denied: list[int] = []
        self._requirements: dict[tuple[str, str], Requirement | None] = {}

    def operation(self, operation: OperationDefinitionNode) -> OperationDefinitionNode:
        root = self.schema.get_root_type(operation.operation)
        assert root is not None  # the operation was validated against this schema
        selections = self.selections(root, operation.selection_set.selections, ())
        return OperationDefinitionNode(
            operation=operation.operation,
            name=operation.name,
            variable_definitions=operation.variable_definitions,
            directives=operation.directives,
            selection_set=SelectionSetNode(selections=selections or (_TYPENAME,)),
        )

    def selections(
        self,
        parent: GraphQLNamedType,
        selections: Iterable[SelectionNode],
        visiting: tuple[str, ...],
    ) -> tuple[SelectionNode, ...]:
        kept: list[SelectionNode] = []
        for selection in selections:
            if isinstance(selection, FieldNode):
                node = self.field(parent, selection, visiting)
                if node is not None:
                    kept.append(node)
                continue
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in visiting:
                    continue
                condition: NamedTypeNode | None = fragment.type_condition
                inner = fragment.selection_set.selections
                inside = (*visiting, name)
            else:
                assert isinstance(selection, InlineFragmentNode)
                condition = selection.type_condition
                inner = selection.selection_set.selections
                inside = visiting
            scope = self.schema.get_type(condition.name.value) if condition else parent
            if scope is None:
                continue
            # a fragment on a type the caller may not see: each of its fields is refused
            denied_here = self.rules.types.get(scope.name)
            if denied_here is not None and not self.allowed(denied_here):
                self._deny_all(scope, inner, inside)
                continue
            body = self.selections(scope, inner, inside)
            if body:
                kept.append(
                    InlineFragmentNode(
                        type_condition=condition,
                        directives=selection.directives,
                        selection_set=SelectionSetNode(selections=body),
                    )
                )
        return tuple(kept)

    def field(
        self, parent: GraphQLNamedType, node: FieldNode, visiting: tuple[str, ...]
    ) -> FieldNode | None:
        name = node.name.value
        if name.startswith("__"):
            return node
        requirement = self._field_requirement(parent, name)
        if requirement is not None and not self.allowed(requirement):
            self.denied.append(id(node))
            return None
        if node.selection_set is None:
            return node
        assert isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
        returned = get_named_type(parent.fields[name].type)
        selections = self.selections(returned, node.selection_set.selections, visiting)
        return FieldNode(
            alias=node.alias,
            name=node.name,
            arguments=node.arguments,
            directives=node.directives,
            # nothing left the caller may see: the object is still there, empty
            selection_set=SelectionSetNode(selections=selections or (_TYPENAME,)),
        )

    def _deny_all(
        self, scope: GraphQLNamedType, inner: Iterable[SelectionNode], visiting: tuple[str, ...]
    ) -> None:
        for selection in inner:
            if isinstance(selection, FieldNode):
                if not selection.name.value.startswith("__"):
                    self.denied.append(id(selection))
            elif isinstance(selection, InlineFragmentNode):
                self._deny_all(scope, selection.selection_set.selections, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in visiting:
                    self._deny_all(scope, fragment.selection_set.selections, (*visiting, name))

    def _parent_requirement(self, named: GraphQLNamedType) -> Requirement | None:
        """A field's parent type's requirement; for an interface, its object types' too (a
        field selected on an interface reads every implementation)."""
        found = self.rules.types.get(named.name)
        if is_abstract_type(named):
            for possible in self.schema.get_possible_types(named):
                own = self.rules.types.get(possible.name)
                if own is not None:
                    found = own if found is None else found & own
        return found

    def _field_requirement(self, parent: GraphQLNamedType, name: str) -> Requirement | None:
        """Everything selecting `parent.name` needs, combined; cached per walk."""
        key = (parent.name, name)
        if key in self._requirements:
            return self._requirements[key]
        assert isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
        found: Requirement | None = None
        parts = [self.rules.fields.get(key), self._parent_requirement(parent)]
        # the returned type's own: an interface or union with a member the caller may not
        # see is still there, the fragments on that member are not
        parts.append(self.rules.types.get(get_named_type(parent.fields[name].type).name))
        if is_abstract_type(parent):  # the field of each implementation
            for possible in self.schema.get_possible_types(parent):
                parts.append(self.rules.fields.get((possible.name, name)))
        for part in parts:
            if part is not None:
                found = part if found is None else found & part
        self._requirements[key] = found
        return found
