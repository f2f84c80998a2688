"""The request pipeline: parse (cached) -> validate against the API schema and compile the
cost formula (cached) -> admit: coerce the variables, cost the operation with them and take
the cost from the client's budget -> plan, stage and compile the response shape (cached by
document, operation name and @skip/@include values) -> execute -> shape."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Mapping
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

from gateway.federation.budget import Budgets, OverBudget, ThrottleStatus
from gateway.federation.conditions import condition_variables
from gateway.federation.cost import CostFormula, compile_cost
from gateway.federation.executor import ExecutionState, Executor
from gateway.federation.limits import (
    OperationLimits,
    cost_limit_error,
    limit_errors,
    token_limit_error,
)
from gateway.federation.override import OverrideLabels
from gateway.federation.plan import QueryPlan
from gateway.federation.planner import PlanningError, plan_operation
from gateway.federation.prepared_cache import CacheLimits, PreparedCache, node_count
from gateway.federation.shaping import ResponseShape, shape
from gateway.federation.stages import StagedPlan, stage_plan
from gateway.federation.supergraph import Supergraph
from gateway.metrics import SUBSCRIPTION_EVENT_SECONDS

__all__ = [
    "Admitted",
    "CacheLimits",
    "Gateway",
    "OperationLimits",
    "Prepared",
    "RateLimited",
    "RequestError",
]


class RequestError(Exception):
    """The request cannot be executed at all (syntax, validation, operation choice)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "invalid request")
        self.errors = errors


class RateLimited(RequestError):
    """The client's budget holds less than the operation costs: nothing was called."""

    def __init__(self, over: OverBudget) -> None:
        super().__init__(
            [
                {
                    "message": f"over your budget of query cost: this operation costs "
                    f"{over.requested}, {over.status.currently_available} is left, "
                    f"{over.status.restore_rate:g} more a second; retry after "
                    f"{over.retry_after} s",
                    "extensions": {"code": "RATE_LIMITED", "retryAfter": over.retry_after},
                }
            ]
        )
        self.retry_after = over.retry_after
        self.cost = over.status.extension(over.requested)


@dataclass(frozen=True)
class Admitted:
    """An operation let in for one request: its coerced variables and what it cost."""

    values: dict[str, Any]
    cost: int
    throttle: ThrottleStatus | None  # None: no budget applies (an in-process caller)

    def extension(self) -> dict[str, Any]:
        """`extensions.cost` of the answer."""
        if self.throttle is None:
            return {"requestedQueryCost": self.cost}
        return self.throttle.extension(self.cost)


@dataclass(frozen=True)
class Compiled:
    """What an operation needs per request, made once: the plan, its steps, its shape."""

    plan: QueryPlan
    staged: StagedPlan
    shape: ResponseShape


PlanKey = tuple[tuple[tuple[str, bool], ...], tuple[str, ...]]


@dataclass(frozen=True)
class Prepared:
    document: DocumentNode
    operation: OperationDefinitionNode
    condition_variables: frozenset[str]  # used by @skip/@include: the plan depends on them
    cost: CostFormula  # evaluated per request, with its variables
    nodes: int  # of its syntax tree: what it holds in memory grows with them
    key: tuple[str, str | None]  # in the prepared-operation cache
    # by (@skip/@include values, active progressive @override labels)
    plans: dict[PlanKey, Compiled] = field(default_factory=dict)

    @property
    def is_query(self) -> bool:
        return self.operation.operation == OperationType.QUERY

    @property
    def is_subscription(self) -> bool:
        return self.operation.operation == OperationType.SUBSCRIPTION


def _formatted(error: GraphQLError, code: str) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    extensions: dict[str, Any] = dict(formatted.get("extensions") or {})
    formatted["extensions"] = {**extensions, "code": code}
    return formatted


class Gateway:
    def __init__(
        self,
        supergraph: Supergraph,
        executor: Executor,
        limits: OperationLimits | None = None,
        cache: CacheLimits | None = None,
        override: OverrideLabels | None = None,
        budgets: Budgets | None = None,
    ) -> None:
        self.supergraph = supergraph
        self.executor = executor
        self.limits = limits or OperationLimits()
        self.cache = PreparedCache(cache or CacheLimits())
        self.override = override or OverrideLabels.of(supergraph.override_labels)
        self.budgets = budgets  # shared by the gateways a reload replaces

    def prepare(self, query: str, operation_name: str | None) -> Prepared:
        """Everything that does not depend on variables, cached: a repeated operation costs
        a hash lookup."""
        encoded = query.encode()
        key = (hashlib.sha256(encoded).hexdigest(), operation_name)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        prepared = self._prepare(query, operation_name, key)
        self.cache.keep(key, prepared, len(encoded))
        return prepared

    def _prepare(
        self, query: str, operation_name: str | None, key: tuple[str, str | None]
    ) -> Prepared:
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError as error:
            if error.message.endswith("tokens. Parsing aborted."):  # graphql-core's words
                raise RequestError([token_limit_error(self.limits)]) from None
            raise RequestError([_formatted(error, "GRAPHQL_PARSE_FAILED")]) from None
        # before validation, whose cost grows faster than the document does
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                refused = limit_errors(document, definition, self.limits)
                if refused:
                    raise RequestError(refused)
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
        cost = compile_cost(
            self.supergraph.api_schema,
            self.supergraph.demand,
            document,
            operation,
            self.limits.assumed_list_size,
        )
        return Prepared(
            document, operation, condition_variables(document), cost, node_count(document), key
        )

    def plan(
        self,
        prepared: Prepared,
        variables: Mapping[str, Any],
        labels: frozenset[str] = frozenset(),
    ) -> Compiled:
        """The plan for these @skip/@include values and progressive @override labels, made
        once and kept."""
        conditions = tuple(
            sorted((name, bool(variables.get(name))) for name in prepared.condition_variables)
        )
        key: PlanKey = (conditions, tuple(sorted(labels)))
        compiled = prepared.plans.get(key)
        if compiled is None:
            try:
                plan = plan_operation(
                    self.supergraph.for_labels(labels),
                    prepared.document,
                    prepared.operation,
                    variables,
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
            if len(prepared.plans) < self.cache.limits.max_plans:
                prepared.plans[key] = compiled
                self.cache.planned(prepared.key, prepared)
        return compiled

    def admit(
        self, prepared: Prepared, variables: Mapping[str, Any] | None, client: str | None
    ) -> Admitted:
        """The admission stage, once per request before anything is planned or fetched:
        the variables coerced, the operation's cost for them within `max_cost`, and taken
        from the client's budget (RateLimited when it holds less). `client` None: an
        in-process caller with no budget of its own."""
        values: dict[str, Any] = {}
        if prepared.operation.variable_definitions:  # else nothing to coerce: values stay {}
            coerced = get_variable_values(
                self.supergraph.api_schema,
                prepared.operation.variable_definitions,
                dict(variables or {}),
            )
            if isinstance(coerced, list):
                raise RequestError([_formatted(e, "BAD_USER_INPUT") for e in coerced])
            values = dict(coerced.coerced)
        cost = prepared.cost.of(values)
        if cost > self.limits.max_cost:
            raise RequestError([cost_limit_error(self.limits, cost)])
        if self.budgets is None or client is None:
            return Admitted(values, cost, None)
        try:
            throttle = self.budgets.take(client, cost)
        except OverBudget as over:
            raise RateLimited(over) from None
        return Admitted(values, cost, throttle)

    async def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        client: str | None = None,
    ) -> dict[str, Any]:
        """Run an operation; the answer is a GraphQL response ({"data", "errors"}).
        Raises RequestError when the request cannot run at all (RateLimited: over the
        client's budget)."""
        prepared = self.prepare(query, operation_name)
        admitted = self.admit(prepared, variables, client)
        return await self.run(prepared, admitted, variables, operation_name)

    async def run(
        self,
        prepared: Prepared,
        admitted: Admitted,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """`execute` for an operation already prepared and admitted."""
        values = admitted.values
        compiled = self.plan(prepared, values, self.override.draw())
        state = await self.executor.execute(compiled.staged, values)
        return self._response(prepared, compiled, state, variables, operation_name)

    async def subscribe(
        self,
        prepared: Prepared,
        admitted: Admitted,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """A subscription already prepared and admitted (its limits and cost checked, its
        cost taken from the client's budget once): its root field streamed from the
        subgraph that owns it, and for each event the rest of its plan run (entity fetches
        to other subgraphs, batched as for a query) and the result shaped like a query's.
        An event that is only errors (the subgraph refused, the stream broke off) is passed
        on and ends the stream."""
        if not prepared.is_subscription:
            raise RequestError(
                [{"message": "not a subscription", "extensions": {"code": "BAD_REQUEST"}}]
            )
        values = admitted.values
        compiled = self.plan(prepared, values, self.override.draw())
        async for event in self.executor.stream(compiled.staged, values):
            data = event.get("data")
            if not isinstance(data, dict):
                yield {"data": None, "errors": event.get("errors") or []}
                return
            started = time.perf_counter()
            state = await self.executor.execute(compiled.staged, values, seed=event)
            answer = self._response(prepared, compiled, state, variables, operation_name)
            SUBSCRIPTION_EVENT_SECONDS.observe(time.perf_counter() - started)
            yield answer

    def _response(
        self,
        prepared: Prepared,
        compiled: Compiled,
        state: ExecutionState,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
    ) -> dict[str, Any]:
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
