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

from graphql import GraphQLEnumType, GraphQLObjectType, GraphQLScalarType

from gateway.federation.plan import INTERNAL_PREFIX
from gateway.federation.stages import StagedPlan

if TYPE_CHECKING:
    from gateway.federation.shaping import ResponseShape, _Completion, _ObjectShape

try:
    import msgspec
except ImportError:  # pragma: no cover - the pure-Python path answers everything
    msgspec = None  # type: ignore[assignment]

__all__ = ["NATIVE", "DirectAnswer"]

NATIVE = msgspec is not None  # whether this process can decode answers natively

_MIN_INT, _MAX_INT = -(2**31), 2**31 - 1  # GraphQL's Int
_MAX_FLOAT = sys.float_info.max  # a bound that refuses inf, as serialize_float does


class _NotNative(Exception):
    """The shape has something only the Python walk handles."""


class DirectAnswer:
    """Decodes a subgraph's whole answer (bytes) into the client's `data`, encoded."""

    def __init__(self, root: type) -> None:
        assert msgspec is not None
        envelope = msgspec.defstruct(
            "SubgraphAnswer",
            [("data", root | None, None), ("errors", Any, None)],
            kw_only=True,
        )
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(envelope)
        self._encoder = msgspec.json.Encoder()

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
        try:
            return cls(_Types().object_type(shape.root))
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
            encoded: bytes = self._encoder.encode(answer.data)
            del answer
            return encoded
        except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
            return None
        finally:
            if collecting:
                gc.enable()


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
    """msgspec types of one response shape."""

    def __init__(self) -> None:
        self._numbers = count()

    def object_type(self, shape: _ObjectShape) -> type:
        assert msgspec is not None
        static = shape.static
        if not isinstance(static, GraphQLObjectType):
            raise _NotNative  # abstract: the fields depend on each value's __typename
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        rename: dict[str, str] = {}
        for position, (key, _, completion, _, typename) in enumerate(shape.fields_for(static)):
            attribute = f"f{position}"  # response keys may be any name, `__typename` too
            rename[attribute] = key
            if completion is None:  # __typename: the declared type's name, whatever is sent
                fields.append((attribute, Literal[typename], typename))
            elif completion.non_null:
                fields.append((attribute, self._value_type(completion)))
            else:  # absent is null, as the walk reads it
                fields.append((attribute, self._value_type(completion) | None, None))
        name = f"{static.name}_{next(self._numbers)}"
        return msgspec.defstruct(name, fields, rename=rename, kw_only=True, gc=False)

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
