"""Stage 5: the merged subgraph data shaped by the client's own operation.

Compiled once per plan (`ResponseShape`): which fields each concrete type shows, under
which response keys, with fragments, type conditions and @skip/@include already resolved.
Shaping a response is then one walk over the data, as graphql-jit does, instead of a
graphql-core execution with a resolver call per field.

The walk covers the regular case: every value present where the schema promises one and of
its declared type. Anything else (a null in a non-null position, which the spec's null
propagation must turn into errors; a value a scalar must coerce or refuse; an unknown
__typename; introspection) gives up, and graphql-core executes the operation over the same
data with resolvers that only read it by response key. So both paths agree by
construction, and the slow one is what the spec says word for word."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    is_abstract_type,
)
from graphql.execution import experimental_execute_incrementally
from graphql.pyutils import Undefined

from gateway.federation.conditions import included
from gateway.federation.frames import let_go
from gateway.federation.plan import conflict_alias

__all__ = ["FragmentShape", "ResponseShape", "shape"]

_MISSING = object()
_MIN_INT, _MAX_INT = -(2**31), 2**31 - 1  # GraphQL's Int
_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


class ShapeUnsure(Exception):
    """The data leaves the regular case: let graphql-core shape it."""


# -- the slow path: graphql-core over the merged data --------------------------------------
def _read(source: Any, info: GraphQLResolveInfo[Any], **_: Any) -> Any:
    if isinstance(source, Mapping):
        value = source.get(info.path.key, _MISSING)
        if value is _MISSING:  # maybe sent under another alias (planner: conflicts)
            return source.get(conflict_alias(str(info.path.key), info.parent_type.name))
        return value
    return None


def _refusing(refused: Callable[[list[FieldNode]], GraphQLError | None]) -> Any:
    def resolve(source: Any, info: GraphQLResolveInfo[Any], **_: Any) -> Any:
        error = refused(info.field_nodes)
        if error is not None:
            raise error
        return _read(source, info)

    return resolve


def _type_of(value: Any, info: GraphQLResolveInfo[Any], abstract: GraphQLAbstractType) -> Any:
    return value.get("__typename") if isinstance(value, Mapping) else None


def shape(
    schema: GraphQLSchema,
    document: DocumentNode,
    data: dict[str, Any],
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    refused: Callable[[list[FieldNode]], GraphQLError | None] | None = None,
) -> ExecutionResult:
    """`refused`: the error of a field the caller may not see (authorization.py), None
    for the others: such a field is null with that error, as a failed resolver's is."""
    # the experimental entry point only because the schema may declare @defer (for
    # introspection to show it): the document never has one here (the pipeline removes it)
    result = experimental_execute_incrementally(
        schema,
        document,
        root_value=data,
        variable_values=dict(variables or {}),
        operation_name=operation_name,
        field_resolver=_read if refused is None else _refusing(refused),
        type_resolver=_type_of,
    )
    assert isinstance(result, ExecutionResult)  # no resolver is async, nothing is deferred
    for error in result.errors or ():  # a null where none may be (a subgraph that failed)
        let_go(error)  # graphql-core keeps what it caught, and the execution's frames with it
        if error.original_error is not None:
            let_go(error.original_error)
    return result


# -- the compiled path ---------------------------------------------------------------------
class _Leaf:
    """A scalar or enum: values of the expected Python type pass as they are; any other
    goes through the type's own serializer (graphql-core's coercion rules)."""

    __slots__ = ("exact", "is_int", "named", "serialize")

    def __init__(self, named: GraphQLScalarType | GraphQLEnumType) -> None:
        self.named = named
        self.serialize = named.serialize
        self.exact: type | None = {"String": str, "ID": str, "Boolean": bool}.get(named.name)
        self.is_int = named.name == "Int"  # a Python int, and within GraphQL's 32 bits
        if isinstance(named, GraphQLScalarType) and named.serialize is GraphQLScalarType.serialize:
            self.exact = object  # a custom scalar without a serializer passes values through

    def complete(self, value: Any) -> Any:
        if self.exact is object or type(value) is self.exact:
            return value
        if self.is_int and type(value) is int and _MIN_INT <= value <= _MAX_INT:
            return value
        try:
            serialized = self.serialize(value)
        except Exception:
            raise ShapeUnsure from None
        if serialized is None or serialized is Undefined:
            raise ShapeUnsure
        return serialized


class _Completion:
    """How to complete a value of one output type (one level of list or non-null)."""

    __slots__ = ("inner", "leaf", "list", "non_null", "object")

    def __init__(self, output: GraphQLOutputType, object_shape: _ObjectShape | None) -> None:
        self.non_null = isinstance(output, GraphQLNonNull)
        if isinstance(output, GraphQLNonNull):
            output = output.of_type
        self.list = isinstance(output, GraphQLList)
        self.inner = (
            _Completion(output.of_type, object_shape) if isinstance(output, GraphQLList) else None
        )
        self.leaf = (
            _Leaf(output) if isinstance(output, (GraphQLScalarType, GraphQLEnumType)) else None
        )
        self.object = None if self.list or self.leaf else object_shape

    def complete(self, value: Any) -> Any:
        if value is None:
            if self.non_null:
                raise ShapeUnsure
            return None
        if self.leaf is not None:
            return self.leaf.complete(value)
        if self.list:
            if type(value) is not list:
                raise ShapeUnsure
            inner = self.inner
            assert inner is not None
            return [inner.complete(item) for item in value]
        if type(value) is not dict:
            raise ShapeUnsure
        assert self.object is not None
        return self.object.shape(value)


# One field of a concrete type's response, as a tuple for a fast loop: response key, the
# key it may travel under instead (planner conflicts), its completion (None for
# `__typename`), the Python type a value may have to be passed as it is (plain strings and
# booleans; None when every value goes through the completion), and the type's name for a
# `__typename` field.
_Field = tuple[str, str, "_Completion | None", "type | None", "str | None"]


def _field(key: str, parent: str, completion: _Completion | None) -> _Field:
    exact = None
    leaf = completion.leaf if completion is not None else None
    if leaf is not None and leaf.exact in (str, bool):
        exact = leaf.exact
    return (
        key,
        conflict_alias(key, parent),
        completion,
        exact,
        parent if completion is None else None,
    )


class _ObjectShape:
    """The fields shown for a value of one (possibly abstract) type, per concrete type,
    compiled on first use of that type."""

    __slots__ = ("_by_type", "_compiler", "_selections", "_static")

    def __init__(
        self,
        compiler: _Compiler,
        static: GraphQLObjectType | GraphQLAbstractType,
        selections: tuple[SelectionSetNode, ...],
    ) -> None:
        self._compiler = compiler
        self._static = static
        self._selections = selections
        self._by_type: dict[str, tuple[_Field, ...]] = {}

    @property
    def static(self) -> GraphQLObjectType | GraphQLAbstractType:
        """The type the schema declares at this position."""
        return self._static

    def fields_for(self, runtime: GraphQLObjectType) -> tuple[_Field, ...]:
        fields = self._by_type.get(runtime.name)
        if fields is None:
            fields = self._by_type[runtime.name] = self._compiler.fields(runtime, self._selections)
        return fields

    def shape(self, value: dict[str, Any]) -> dict[str, Any]:
        static = self._static
        fields: tuple[_Field, ...] | None
        if isinstance(static, GraphQLObjectType):
            fields = self._by_type.get(static.name) or self.fields_for(static)
        else:
            typename = value.get("__typename")
            if typename is None and isinstance(static, GraphQLInterfaceType):
                # an @interfaceObject subgraph answered alone: nothing selected depends on
                # the concrete type (the planner made sure), so the interface's fields do
                fields = self._by_type.get(static.name)
                if fields is None:
                    fields = self._by_type[static.name] = self._compiler.fields(
                        static, self._selections
                    )
            else:
                fields = self._by_type.get(str(typename))
                if fields is None:
                    fields = self.fields_for(self._compiler.runtime_type(static, value))
        out: dict[str, Any] = {}
        for key, conflict_key, completion, exact, typename in fields:
            if completion is None:
                out[key] = typename
                continue
            found = value.get(key, _MISSING)
            if found is _MISSING:
                found = value.get(conflict_key)
            out[key] = found if type(found) is exact else completion.complete(found)
        return out


class _Compiler:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def runtime_type(
        self, abstract: GraphQLAbstractType, value: dict[str, Any]
    ) -> GraphQLObjectType:
        runtime = self.schema.get_type(str(value.get("__typename")))
        if not isinstance(runtime, GraphQLObjectType) or not self.schema.is_sub_type(
            abstract, runtime
        ):
            raise ShapeUnsure
        return runtime

    def fields(
        self,
        parent: GraphQLObjectType | GraphQLInterfaceType,
        selections: Iterable[SelectionSetNode],
    ) -> tuple[_Field, ...]:
        grouped: dict[str, list[FieldNode]] = {}
        for selection_set in selections:
            self._collect(parent, selection_set, grouped, set())
        fields = []
        for key, nodes in grouped.items():
            name = nodes[0].name.value
            if name == "__typename":
                fields.append(_field(key, parent.name, None))
                continue
            definition = parent.fields[name]
            named = definition.type
            while isinstance(named, (GraphQLNonNull, GraphQLList)):
                named = named.of_type
            child = None
            if isinstance(named, GraphQLObjectType) or is_abstract_type(named):
                child = _ObjectShape(
                    self,
                    named,
                    tuple(node.selection_set for node in nodes if node.selection_set),
                )
            fields.append(_field(key, parent.name, _Completion(definition.type, child)))
        return tuple(fields)

    def _collect(
        self,
        runtime: GraphQLObjectType | GraphQLInterfaceType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if not included(selection, self.variables):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(selection.type_condition, runtime):
                    self._collect(runtime, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition, runtime):
                    self._collect(runtime, fragment.selection_set, grouped, visited)

    def _applies(self, condition: Any, runtime: GraphQLObjectType | GraphQLInterfaceType) -> bool:
        if condition is None:
            return True
        named = self.schema.get_type(condition.name.value)
        if named is runtime:
            return True
        return is_abstract_type(named) and self.schema.is_sub_type(named, runtime)


class ResponseShape:
    """An operation's response shape for fixed @skip/@include values."""

    def __init__(self, root: _ObjectShape | None) -> None:
        self._root = root

    @property
    def root(self) -> _ObjectShape | None:
        """The root type's shape; None for an operation only graphql-core answers."""
        return self._root

    @classmethod
    def compile(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> ResponseShape:
        root_type = schema.get_root_type(operation.operation)
        if root_type is None or _introspects(document):
            return cls(None)  # introspection: graphql-core answers it
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        compiler = _Compiler(schema, fragments, variables)
        return cls(_ObjectShape(compiler, root_type, (operation.selection_set,)))

    def shape(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """The response's `data`, or None when only graphql-core can say it exactly."""
        if self._root is None:
            return None
        try:
            return self._root.shape(data)
        except (ShapeUnsure, RecursionError):
            return None


def _introspects(document: DocumentNode) -> bool:
    """`__schema` or `__type` anywhere (directly, in a fragment, in a type condition)."""
    pending: list[SelectionSetNode] = [
        definition.selection_set
        for definition in document.definitions
        if isinstance(definition, (OperationDefinitionNode, FragmentDefinitionNode))
    ]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode) and selection.name.value in _INTROSPECTION_ROOTS:
                return True
            nested = getattr(selection, "selection_set", None)
            if nested is not None:
                pending.append(nested)
    return False


class FragmentShape:
    """A deferred fragment's shape on one object it is selected on (the objects at its
    path), compiled once per plan like `ResponseShape`."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        parent_type: str,
        selection_set: SelectionSetNode,
        variables: Mapping[str, Any],
    ) -> None:
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        static = schema.get_type(parent_type)
        assert isinstance(static, GraphQLObjectType) or is_abstract_type(static)
        compiler = _Compiler(schema, fragments, variables)
        self._root = _ObjectShape(compiler, static, (selection_set,))

    def shape(self, value: dict[str, Any]) -> dict[str, Any] | None:
        """The fragment's data on `value`; None when a value breaks the schema's promise
        (null propagation stops at the fragment: its part's data is null)."""
        try:
            return self._root.shape(value)
        except (ShapeUnsure, RecursionError):
            return None
