"""The request pipeline: parse (cached) -> validate against the API schema (cached) ->
plan, stage and compile the response shape (cached by document, operation name and
@skip/@include values) -> execute -> shape."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from gateway.federation.conditions import condition_variables
from gateway.federation.executor import Executor
from gateway.federation.plan import QueryPlan
from gateway.federation.planner import PlanningError, plan_operation
from gateway.federation.shaping import ResponseShape, shape
from gateway.federation.stages import StagedPlan, stage_plan
from gateway.federation.supergraph import Supergraph

__all__ = ["Gateway", "RequestError"]

CACHE_SIZE = 1000


class RequestError(Exception):
    """The request cannot be executed at all (syntax, validation, operation choice)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "invalid request")
        self.errors = errors


@dataclass(frozen=True)
class Compiled:
    """What an operation needs per request, made once: the plan, its steps, its shape."""

    plan: QueryPlan
    staged: StagedPlan
    shape: ResponseShape


@dataclass(frozen=True)
class Prepared:
    document: DocumentNode
    operation: OperationDefinitionNode
    condition_variables: frozenset[str]  # used by @skip/@include: the plan depends on them
    plans: dict[tuple[tuple[str, bool], ...], Compiled] = field(default_factory=dict)

    @property
    def is_query(self) -> bool:
        return self.operation.operation == OperationType.QUERY


def _formatted(error: GraphQLError, code: str) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    extensions: dict[str, Any] = dict(formatted.get("extensions") or {})
    formatted["extensions"] = {**extensions, "code": code}
    return formatted


class Gateway:
    def __init__(self, supergraph: Supergraph, executor: Executor) -> None:
        self.supergraph = supergraph
        self.executor = executor
        self._prepared: OrderedDict[tuple[str, str | None], Prepared] = OrderedDict()

    def prepare(self, query: str, operation_name: str | None) -> Prepared:
        """Everything that does not depend on variables, cached: a repeated operation costs
        a hash lookup."""
        key = (hashlib.sha256(query.encode()).hexdigest(), operation_name)
        cached = self._prepared.get(key)
        if cached is not None:
            self._prepared.move_to_end(key)
            return cached
        try:
            document = parse(query)
        except GraphQLError as error:
            raise RequestError([_formatted(error, "GRAPHQL_PARSE_FAILED")]) from None
        errors = validate(self.supergraph.api_schema, document)
        if errors:
            raise RequestError([_formatted(e, "GRAPHQL_VALIDATION_FAILED") for e in errors])
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            message = (
                f"unknown operation {operation_name!r}"
                if operation_name
                else "give operationName: the document has several operations"
            )
            raise RequestError([{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}])
        prepared = Prepared(document, operation, condition_variables(document))
        self._prepared[key] = prepared
        if len(self._prepared) > CACHE_SIZE:
            self._prepared.popitem(last=False)
        return prepared

    def plan(self, prepared: Prepared, variables: Mapping[str, Any]) -> Compiled:
        """The plan for these @skip/@include values, made once and kept."""
        key = tuple(
            sorted((name, bool(variables.get(name))) for name in prepared.condition_variables)
        )
        compiled = prepared.plans.get(key)
        if compiled is None:
            try:
                plan = plan_operation(
                    self.supergraph, prepared.document, prepared.operation, variables
                )
            except PlanningError as error:
                raise RequestError(
                    [
                        {
                            "message": f"cannot plan this operation: {error}",
                            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
                        }
                    ]
                ) from None
            compiled = Compiled(
                plan,
                stage_plan(plan),
                ResponseShape.compile(
                    self.supergraph.api_schema, prepared.document, prepared.operation, variables
                ),
            )
            prepared.plans[key] = compiled
        return compiled

    async def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """Run an operation; the answer is a GraphQL response ({"data", "errors"}).
        Raises RequestError when the request cannot run at all."""
        prepared = self.prepare(query, operation_name)
        coerced = get_variable_values(
            self.supergraph.api_schema,
            prepared.operation.variable_definitions or (),
            dict(variables or {}),
        )
        if isinstance(coerced, list):
            raise RequestError([_formatted(e, "BAD_USER_INPUT") for e in coerced])
        values: dict[str, Any] = dict(coerced.coerced)
        compiled = self.plan(prepared, values)
        state = await self.executor.execute(compiled.staged, values)
        data = compiled.shape.shape(state.data)
        if data is not None:  # the regular case, compiled; otherwise graphql-core, below
            return {"data": data, "errors": state.errors} if state.errors else {"data": data}
        result = shape(
            self.supergraph.api_schema, prepared.document, state.data, variables, operation_name
        )
        errors = list(state.errors)
        if result.errors:
            if result.data is None and not errors and any(e.path is None for e in result.errors):
                raise RequestError([_formatted(e, "BAD_USER_INPUT") for e in result.errors])
            known = {tuple(e.get("path") or ()) for e in errors}
            errors += [
                dict(e.formatted) for e in result.errors if not e.path or tuple(e.path) not in known
            ]
        response: dict[str, Any] = {"data": result.data}
        if errors:
            response["errors"] = errors
        return response
