"""The request pipeline: parse (cached) -> validate against the API schema, compile the
cost formula and collect the authorization requirements on the way (cached) -> admit:
coerce the variables, cost the operation with them and take the cost from the client's
budget -> authorize: the fields the caller may not see taken out (authorization.py) -> plan,
stage and compile the response shape (cached by document, operation name, @skip/@include
values and the requirements the caller fails) -> execute -> shape."""

from __future__ import annotations

import hashlib
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

from gateway.federation.authorization import (
    ANONYMOUS,
    NO_GUARD,
    Access,
    Filtered,
    OperationGuard,
    Requirement,
    authorize,
)
from gateway.federation.budget import Budgets, OverBudget, ThrottleStatus
from gateway.federation.conditions import condition_variables
from gateway.federation.cost import CostFormula, compile_cost
from gateway.federation.executor import Executor
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

__all__ = [
    "Access",
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
    access: Access = ANONYMOUS  # what the caller may see (@authenticated, @requiresScopes)

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
    filtered: Filtered | None = None  # planned without fields the caller may not see


# (@skip/@include values, @override labels, authorization: the requirements failed and
# whether the caller is signed in, which decides their errors' code)
PlanKey = tuple[tuple[tuple[str, bool], ...], tuple[str, ...], tuple[frozenset[Requirement], bool]]
NOTHING_FAILED: tuple[frozenset[Requirement], bool] = (frozenset(), False)


@dataclass(frozen=True)
class Prepared:
    document: DocumentNode
    operation: OperationDefinitionNode
    condition_variables: frozenset[str]  # used by @skip/@include: the plan depends on them
    cost: CostFormula  # evaluated per request, with its variables
    nodes: int  # of its syntax tree: what it holds in memory grows with them
    key: tuple[str, str | None]  # in the prepared-operation cache
    # by (@skip/@include values, active progressive @override labels, authorization)
    plans: dict[PlanKey, Compiled] = field(default_factory=dict)
    guard: OperationGuard = NO_GUARD  # the authorization requirements on its way

    @property
    def is_query(self) -> bool:
        return self.operation.operation == OperationType.QUERY


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
        guard = OperationGuard.of(
            self.supergraph.api_schema, self.supergraph.authorization, document, operation
        )
        return Prepared(
            document,
            operation,
            condition_variables(document),
            cost,
            node_count(document),
            key,
            guard=guard,
        )

    def plan(
        self,
        prepared: Prepared,
        variables: Mapping[str, Any],
        labels: frozenset[str] = frozenset(),
        access: Access | None = None,
    ) -> Compiled:
        """The plan for these @skip/@include values, progressive @override labels and what
        the caller may see (None: everything, for inspection), made once and kept."""
        conditions = tuple(
            sorted((name, bool(variables.get(name))) for name in prepared.condition_variables)
        )
        failed = prepared.guard.failed(access) if access is not None else frozenset()
        authorization = (failed, access.authenticated) if failed and access else NOTHING_FAILED
        key: PlanKey = (conditions, tuple(sorted(labels)), authorization)
        compiled = prepared.plans.get(key)
        if compiled is None:
            filtered = None
            document, operation = prepared.document, prepared.operation
            if failed:
                filtered = authorize(
                    self.supergraph.api_schema,
                    self.supergraph.authorization,
                    document,
                    operation,
                    failed,
                    authorization[1],
                )
                document, operation = filtered.document, filtered.operation
            try:
                plan = plan_operation(
                    self.supergraph.for_labels(labels), document, operation, variables
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
                filtered,
            )
            if len(prepared.plans) < self.cache.limits.max_plans:
                prepared.plans[key] = compiled
                self.cache.planned(prepared.key, prepared)
        return compiled

    def admit(
        self,
        prepared: Prepared,
        variables: Mapping[str, Any] | None,
        client: str | None,
        access: Access = ANONYMOUS,
    ) -> Admitted:
        """The admission stage, once per request before anything is planned or fetched:
        the variables coerced, the operation's cost for them within `max_cost`, and taken
        from the client's budget (RateLimited when it holds less). `client` None: an
        in-process caller with no budget of its own. `access`: what the caller may see."""
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
            return Admitted(values, cost, None, access)
        try:
            throttle = self.budgets.take(client, cost)
        except OverBudget as over:
            raise RateLimited(over) from None
        return Admitted(values, cost, throttle, access)

    async def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        client: str | None = None,
        access: Access = ANONYMOUS,
    ) -> dict[str, Any]:
        """Run an operation; the answer is a GraphQL response ({"data", "errors"}).
        Raises RequestError when the request cannot run at all (RateLimited: over the
        client's budget)."""
        prepared = self.prepare(query, operation_name)
        admitted = self.admit(prepared, variables, client, access)
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
        compiled = self.plan(prepared, values, self.override.draw(), admitted.access)
        state = await self.executor.execute(compiled.staged, values)
        filtered = compiled.filtered
        if filtered is None:
            data = compiled.shape.shape(state.data)
            if data is not None:  # the regular case, compiled; otherwise graphql-core, below
                return {"data": data, "errors": state.errors} if state.errors else {"data": data}
        # fields taken out for authorization: graphql-core answers them null with their error
        result = shape(
            self.supergraph.api_schema,
            prepared.document,
            state.data,
            variables,
            operation_name,
            filtered.error if filtered is not None else None,
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
