"""Stage 5: the merged subgraph data shaped by the client's own operation.

graphql-core executes the operation against the API schema with resolvers that only read
the merged data by response key. That gives aliases, field order, __typename, @skip and
@include, introspection and null propagation exactly as the spec says."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLAbstractType,
    GraphQLResolveInfo,
    GraphQLSchema,
    execute,
)

from gateway.federation.plan import conflict_alias

__all__ = ["shape"]


_MISSING = object()


def _read(source: Any, info: GraphQLResolveInfo[Any], **_: Any) -> Any:
    if isinstance(source, Mapping):
        value = source.get(info.path.key, _MISSING)
        if value is _MISSING:  # maybe sent under another alias (planner: conflicts)
            return source.get(conflict_alias(str(info.path.key), info.parent_type.name))
        return value
    return None


def _type_of(value: Any, info: GraphQLResolveInfo[Any], abstract: GraphQLAbstractType) -> Any:
    return value.get("__typename") if isinstance(value, Mapping) else None


def shape(
    schema: GraphQLSchema,
    document: DocumentNode,
    data: dict[str, Any],
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
) -> ExecutionResult:
    result = execute(
        schema,
        document,
        root_value=data,
        variable_values=dict(variables or {}),
        operation_name=operation_name,
        field_resolver=_read,
        type_resolver=_type_of,
    )
    assert isinstance(result, ExecutionResult)  # no resolver is async
    return result
