"""A whole answer one subgraph gives, decoded straight into the client's shape in native code.

When the plan is a single root fetch, the subgraph's `data` already is the client's answer,
or nearly: its keys are the client's response keys (root fetches keep the client's aliases),
it may hold fields the planner added for itself, and the gateway must still check that
every value is what the schema promises before passing it on. Walking it in Python
(shaping.py) costs more than parsing it: on an 8 MiB answer, about twice as much.

So the compiled response shape (`ResponseShape`) is turned into msgspec types, one Struct a
selection set with the client's response keys in the client's order, and the subgraph's
bytes are decoded into them and encoded again (msgspec, in C): keys not selected are
dropped, the order is the client's, and every value is checked on the way as the Python walk
checks it: non-null positions hold a value, Int within 32 bits, Float finite, String/ID a
string, Boolean a boolean, an enum one of its values, `__typename` the declared type.
When the subgraph was asked exactly the client's selection, nothing is encoded again: the
checked bytes pass as they came (`DirectAnswer`, `passthrough`).

The conditions are the plan's and the shape's, never the data's: one fetch, to the root, no
deferred part, nothing filtered by authorization (the pipeline does not ask then), no
abstract type anywhere in the selection (`__typename` would have to pick the fields), no
field sent under another alias (`_fed_`), every leaf a built-in scalar, an enum whose values
are their names, or a custom scalar without a serializer. Anything the types refuse (a null
where the schema says non-null, an Int as a string, subgraph errors, no data) is not an
error here: `decode` says None and the answer goes the regular way (parsed, merged, shaped
by the walk or by graphql-core), which decides what the client sees. Without msgspec
installed nothing is compiled, and every answer goes that way."""

from __future__ import annotations

import gc
import sys
from itertools import count
from typing import TYPE_CHECKING, Annotated, Any, Literal

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLObjectType,
    GraphQLScalarType,
    OperationDefinitionNode,
    SelectionSetNode,
)

from gateway.federation.document_parser import parse_request
from gateway.federation.plan import INTERNAL_PREFIX, conflict_alias
from gateway.federation.stages import StagedPlan

if TYPE_CHECKING:
    from gateway.federation.shaping import ResponseShape, _Completion, _ObjectShape

try:
    import msgspec
except ImportError:  # pragma: no cover - the pure-Python path answers everything
    msgspec = None  # type: ignore[assignment]

__all__ = ["DirectAnswer", "LazyMergedAnswer", "MergedAnswer"]

_MIN_INT, _MAX_INT = -(2**31), 2**31 - 1  # GraphQL's Int
_MAX_FLOAT = sys.float_info.max  # a bound that refuses inf, as serialize_float does


class _NotNative(Exception):
    """The shape has something only the Python walk handles."""


_DATA_KEY = b'"data":'
_DATA_PREFIX = b"{" + _DATA_KEY


class DirectAnswer:
    """Decodes a subgraph's whole answer (bytes) into the client's `data`, encoded.

    `passthrough`: the subgraph was asked for exactly the client's selection (the same
    response keys in the same order at every level, no fragment, no directive: proved from
    the plan's operation text when compiled). A GraphQL server answers fields in the order
    they were asked (the spec's serialized map ordering), so once every value is checked
    and no key is found that was not asked for, the subgraph's `data` bytes are the
    client's: they are passed on as they came, not encoded again. They are cut out of the
    answer only when it is exactly `{"data":...}` (no `errors`, no `extensions`, `"data":`
    once in the whole text, so no second `data` key either); otherwise what was decoded
    is encoded."""

    def __init__(self, root: type, passthrough: bool = False) -> None:
        assert msgspec is not None
        envelope = msgspec.defstruct(
            "SubgraphAnswer",
            [
                ("data", root | None, None),
                ("errors", Any, msgspec.UNSET),
                ("extensions", Any, msgspec.UNSET),
            ],
            kw_only=True,
            forbid_unknown_fields=passthrough,
        )
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(envelope)
        self._encoder = msgspec.json.Encoder()
        self.passthrough = passthrough

    @classmethod
    def compile(cls, shape: ResponseShape, staged: StagedPlan) -> DirectAnswer | None:
        """The direct decoder of this plan's answers, or None when the plan or the shape
        leaves the case it covers (see the module's docstring)."""
        if msgspec is None or shape.root is None or staged.deferred:
            return None
        if len(staged.fetches) != 1 or len(staged.stages) != 1:
            return None
        (request,) = staged.stages[0].requests
        if request.root is None or INTERNAL_PREFIX in request.operation:
            return None
        passthrough = _asks_exactly(request.operation, shape.root)
        try:
            return cls(_Types(strict=passthrough).object_type(shape.root), passthrough)
        except _NotNative:
            return None

    def decode(self, body: bytes) -> bytes | None:
        """The client's `data` as JSON, or None: let the regular path answer."""
        assert msgspec is not None
        # The decoded objects live only until they are encoded again, all inside this
        # call: with the collector paused, it never walks them (an 8 MiB answer makes
        # hundreds of thousands of lists and structs; collections over them cost up to
        # half as much again as decoding them did).
        collecting = gc.isenabled()
        gc.disable()
        try:
            answer = self._decoder.decode(body)
            if answer.data is None or answer.errors:
                return None
            if (
                self.passthrough
                and answer.errors is msgspec.UNSET
                and answer.extensions is msgspec.UNSET
                and body.startswith(_DATA_PREFIX)
                and body.endswith(b"}")
                and body.count(_DATA_KEY) == 1
            ):
                return body[len(_DATA_PREFIX) : -1]
            encoded: bytes = self._encoder.encode(answer.data)
            del answer
            return encoded
        except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
            return None
        finally:
            if collecting:
                gc.enable()


class MergedAnswer:
    """The merged data of a plan of several fetches (or of one whose answer `DirectAnswer`
    left to the regular way), checked and encoded into the client's `data` in native
    code: `msgspec.convert` builds the same Structs from the merged dicts (keys not
    selected dropped, the client's order, every value checked as the walk checks it), and
    they are encoded. What the walk would not pass as it is (a null to propagate, a value to
    coerce) makes `encode` say None, and the walk or graphql-core answers.

    The conditions are `DirectAnswer`'s but the number of fetches, and instead of no
    `_fed_` alias at all: no client field sent under another alias (`conflict_alias`,
    which the walk reads as well as the response key). Built on a plan's second answer
    (`LazyMergedAnswer`), not when it is planned: a plan used once pays nothing for it."""

    __slots__ = ("_encoder", "_root")

    def __init__(self, root: type) -> None:
        assert msgspec is not None
        self._root = root
        self._encoder = msgspec.json.Encoder()

    @classmethod
    def compile(cls, shape: ResponseShape, staged: StagedPlan) -> MergedAnswer | None:
        if msgspec is None or shape.root is None or staged.deferred:
            return None
        sent = "\n".join(request.operation for stage in staged.stages for request in stage.requests)
        try:
            return cls(_Types(sent=sent).object_type(shape.root))
        except _NotNative:
            return None

    def encode(self, data: dict[str, Any]) -> bytes | None:
        """The client's `data` as JSON, or None: let the walk (or graphql-core) answer."""
        assert msgspec is not None
        collecting = gc.isenabled()
        gc.disable()  # the Structs die in this call (DirectAnswer.decode says why)
        try:
            return self._encoder.encode(msgspec.convert(data, self._root))
        except (msgspec.ValidationError, RecursionError):
            return None
        finally:
            if collecting:
                gc.enable()


class LazyMergedAnswer:
    """`MergedAnswer.compile` on a plan's second answer (compiled plans are shared by every
    request of the operation, so this is once per plan). A plan's types cost about a
    millisecond for the 15 selection sets of the query scenario's operation, but 50 ms for
    many-plans' (hundreds): a document answered once, as a new one is, leaves them to the
    walk and never pays for them."""

    __slots__ = ("_answered", "_compiled", "_shape", "_staged")

    def __init__(self, shape: ResponseShape, staged: StagedPlan) -> None:
        self._shape: ResponseShape | None = shape
        self._staged = staged
        self._compiled: MergedAnswer | None = None
        self._answered = False

    def encode(self, data: dict[str, Any]) -> bytes | None:
        if not self._answered:  # the first answer: the walk's
            self._answered = True
            return None
        if self._shape is not None:
            self._compiled = MergedAnswer.compile(self._shape, self._staged)
            self._shape = None
        return None if self._compiled is None else self._compiled.encode(data)


_Int = Annotated[int, msgspec.Meta(ge=_MIN_INT, le=_MAX_INT)] if msgspec else int
_Float = Annotated[float, msgspec.Meta(ge=-_MAX_FLOAT, le=_MAX_FLOAT)] if msgspec else float
_BUILT_IN: dict[str, Any] = {
    "Int": _Int,
    "Float": _Float,
    "String": str,
    "ID": str,
    "Boolean": bool,
}
# a custom scalar passed through: any JSON value but null (which a nullable position allows
# with `| None`, and a non-null one must refuse)
_ANY_BUT_NULL = str | int | float | bool | list[Any] | dict[str, Any]


class _Types:
    """msgspec types of one response shape. `strict`: a key not asked for is refused."""

    def __init__(self, strict: bool = False, sent: str = "") -> None:
        self._numbers = count()
        self._strict = strict
        self._sent = sent  # the plan's operation texts: a field sent under another alias

    def object_type(self, shape: _ObjectShape) -> type:
        assert msgspec is not None
        static = shape.static
        if not isinstance(static, GraphQLObjectType):
            raise _NotNative  # abstract: the fields depend on each value's __typename
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        rename: dict[str, str] = {}
        for position, (key, _, completion, _, typename) in enumerate(shape.fields_for(static)):
            if completion is not None and conflict_alias(key, static.name) in self._sent:
                raise _NotNative  # the walk reads it under either key; a Struct has one
            attribute = f"f{position}"  # response keys may be any name, `__typename` too
            rename[attribute] = key
            if completion is None:  # __typename: the declared type's name, whatever is sent
                fields.append((attribute, Literal[typename], typename))
            elif completion.non_null:
                fields.append((attribute, self._value_type(completion)))
            else:  # absent is null, as the walk reads it
                fields.append((attribute, self._value_type(completion) | None, None))
        name = f"{static.name}_{next(self._numbers)}"
        return msgspec.defstruct(
            name,
            fields,
            rename=rename,
            kw_only=True,
            gc=False,
            forbid_unknown_fields=self._strict,
        )

    def _value_type(self, completion: _Completion) -> Any:
        """The type of a value at this position, null excluded (the caller adds it)."""
        if completion.leaf is not None:
            return _leaf_type(completion.leaf.named, completion.leaf.exact)
        if completion.list:
            inner = completion.inner
            assert inner is not None
            item = self._value_type(inner)
            return list[item if inner.non_null else item | None]  # type: ignore[misc]
        assert completion.object is not None
        return self.object_type(completion.object)


def _leaf_type(named: GraphQLScalarType | GraphQLEnumType, exact: type | None) -> Any:
    if isinstance(named, GraphQLEnumType):
        names = tuple(named.values)
        if not names or any(value.value != name for name, value in named.values.items()):
            raise _NotNative  # values that serialize to other names: the walk maps them
        return Literal[names]
    built_in = _BUILT_IN.get(named.name)
    if built_in is not None:
        return built_in
    if exact is object:  # a custom scalar without a serializer: the value as it is
        return _ANY_BUT_NULL
    raise _NotNative


def _asks_exactly(operation: str, root: _ObjectShape) -> bool:
    """Whether the subgraph operation selects exactly the client's response keys, in the
    client's order, at every level: plain fields, no fragment, no directive."""
    try:
        # not graphql-core's parse: its tokens link to each other both ways, a cycle a
        # garbage collection would have to find (document_parser makes none)
        document, _ = parse_request(operation)
    except GraphQLError:
        return False
    if len(document.definitions) != 1:
        return False
    (definition,) = document.definitions
    if not isinstance(definition, OperationDefinitionNode) or definition.directives:
        return False
    return _same_keys(definition.selection_set, root)


def _same_keys(selection_set: SelectionSetNode, shape: _ObjectShape) -> bool:
    static = shape.static
    if not isinstance(static, GraphQLObjectType):
        return False
    fields = shape.fields_for(static)
    if len(selection_set.selections) != len(fields):
        return False
    for node, (key, _, completion, _, _) in zip(selection_set.selections, fields, strict=True):
        if not isinstance(node, FieldNode) or node.directives:
            return False
        if (node.alias or node.name).value != key:
            return False
        if (node.name.value == "__typename") != (completion is None):
            return False
        child = _object_of(completion) if completion is not None else None
        if child is None:
            if node.selection_set is not None:
                return False
        elif node.selection_set is None or not _same_keys(node.selection_set, child):
            return False
    return True


def _object_of(completion: _Completion) -> _ObjectShape | None:
    while completion.list:
        assert completion.inner is not None
        completion = completion.inner
    return completion.object
