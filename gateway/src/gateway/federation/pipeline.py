"""The request pipeline: parse (cached) -> validate against the API schema, compile the
cost formula and collect the authorization requirements on the way (cached) -> admit:
coerce the variables, cost the operation with them and take the cost from the client's
budget -> authorize: the fields the caller may not see taken out (authorization.py) -> plan,
stage and compile the response shape (cached by document, operation name, @skip/@include/
@defer(if:) values, incremental or not, and the requirements the caller fails) -> execute ->
shape.

With @defer, for a client that takes incremental delivery (`run_incremental`), the plan
keeps each deferred fragment's fetches apart and the answer comes as payloads: the first,
then each deferred part as it is done. Any other client gets the whole answer at once, and
so does a caller some of whose fields are refused (authorization): its answer is shaped by
graphql-core, whole."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
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
from gateway.federation.collection import collections_paused
from gateway.federation.conditions import condition_variables
from gateway.federation.cost import CostFormula, compile_cost
from gateway.federation.defer import defer_variables, find_deferred, has_defer, without_defer
from gateway.federation.document_parser import parse_request
from gateway.federation.executor import ExecutionState, Executor
from gateway.federation.frames import let_go
from gateway.federation.incremental import Deferral
from gateway.federation.limits import (
    OperationLimits,
    cost_limit_error,
    limit_errors,
    token_limit_error,
)
from gateway.federation.native_shape import DirectAnswer, LazyMergedAnswer
from gateway.federation.override import OverrideLabels
from gateway.federation.plan import QueryPlan
from gateway.federation.planner import PlanningError, plan_operation
from gateway.federation.preparation import Busy, PreparationCapacity
from gateway.federation.prepared_cache import CacheLimits, PreparedCache
from gateway.federation.shaping import ResponseShape, shape
from gateway.federation.stages import StagedPlan, stage_plan
from gateway.federation.supergraph import Supergraph
from gateway.federation.transport import SubgraphUnreachable
from gateway.federation.validation import validate_document
from gateway.metrics import SUBSCRIPTION_EVENT_SECONDS

__all__ = [
    "Access",
    "Admitted",
    "CacheLimits",
    "Gateway",
    "GatewayBusy",
    "OperationLimits",
    "Prepared",
    "RateLimited",
    "RequestError",
]


# what a request refused before it runs (its variables, its cost over the limit) takes from
# its client's budget
REFUSAL_POINTS = 10


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


class GatewayBusy(RequestError):
    """A new document found the process's share of CPU for new documents used up: 503,
    nothing parsed."""

    def __init__(self, busy: Busy) -> None:
        super().__init__(
            [
                {
                    "message": str(busy),
                    "extensions": {"code": "SERVICE_UNAVAILABLE", "retryAfter": busy.retry_after},
                }
            ]
        )
        self.retry_after = busy.retry_after


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
    shape: ResponseShape  # of the first payload when deferred, else of the whole answer
    deferral: Deferral | None = None  # its deferred parts, when delivered incrementally
    filtered: Filtered | None = None  # planned without fields the caller may not see
    # one subgraph's whole answer decoded natively into the client's shape (native_shape.py)
    direct: DirectAnswer | None = None
    # the merged data of any other answer checked and encoded natively (native_shape.py)
    merged: LazyMergedAnswer | None = None


# (@skip/@include/@defer(if:) values, active progressive @override labels, incremental,
# authorization: the requirements failed and whether the caller is signed in, which decides
# their errors' code)
PlanKey = tuple[
    tuple[tuple[str, bool], ...], tuple[str, ...], bool, tuple[frozenset[Requirement], bool]
]
NOTHING_FAILED: tuple[frozenset[Requirement], bool] = (frozenset(), False)


@dataclass(frozen=True)
class Prepared:
    document: DocumentNode
    operation: OperationDefinitionNode
    condition_variables: frozenset[str]  # used by @skip/@include: the plan depends on them
    cost: CostFormula  # evaluated per request, with its variables
    nodes: int  # of its syntax tree: what it holds in memory grows with them
    key: tuple[str, str | None]  # in the prepared-operation cache
    # what graphql-core shapes the whole answer by: the document, any @defer removed
    # (graphql-core refuses to execute @defer unless experimentally enabled)
    shaping_document: DocumentNode
    # by (@skip/@include values, active progressive @override labels, authorization)
    plans: dict[PlanKey, Compiled] = field(default_factory=dict)
    guard: OperationGuard = NO_GUARD  # the authorization requirements on its way

    @property
    def is_query(self) -> bool:
        return self.operation.operation == OperationType.QUERY

    @property
    def defers(self) -> bool:
        """Whether it has @defer: only then may its answer come incrementally."""
        return self.shaping_document is not self.document

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
        preparation: PreparationCapacity | None = None,
    ) -> None:
        self.supergraph = supergraph
        self.executor = executor
        self.limits = limits or OperationLimits()
        self.cache = PreparedCache(cache or CacheLimits())
        self.override = override or OverrideLabels.of(supergraph.override_labels)
        self.budgets = budgets  # shared by the gateways a reload replaces
        self.preparation = preparation  # likewise
        self._preparing: dict[tuple[str, str | None], asyncio.Future[Prepared]] = {}

    def prepare(self, query: str, operation_name: str | None) -> Prepared:
        """Everything that does not depend on variables, cached: a repeated operation costs
        a hash lookup. For in-process callers (no client, no limits): `prepare_for` is the
        way in for a client's request."""
        key, size, cached = self._cached(query, operation_name)
        if cached is not None:
            return cached
        return self._prepare_and_keep(query, operation_name, key, size)

    def _cached(
        self, query: str, operation_name: str | None
    ) -> tuple[tuple[str, str | None], int, Prepared | None]:
        """The cache key of a document, its size in bytes, and what the cache holds for it."""
        encoded = query.encode()
        key = (hashlib.sha256(encoded).hexdigest(), operation_name)
        return key, len(encoded), self.cache.get(key)

    def _prepare_and_keep(
        self, query: str, operation_name: str | None, key: tuple[str, str | None], size: int
    ) -> Prepared:
        prepared = self._prepare(query, operation_name, key)
        self.cache.keep(key, prepared, size)
        return prepared

    async def prepare_for(
        self, query: str, operation_name: str | None, client: str | None
    ) -> Prepared:
        """`prepare` for a client's request: a new document is paid for by `client` (the
        time it took, from its budget) within the process's share for new documents, and is
        prepared off the event loop (preparation.py). RateLimited when the client's budget
        is empty, GatewayBusy when the share is used up: nothing parsed."""
        key, size, cached = self._cached(query, operation_name)
        if cached is not None:
            return cached
        try:
            return await self._prepare_new(query, operation_name, client, key, size)
        except RequestError as refused:
            # the refusal's frames hold it (the coalescing future, the timed result), and it
            # holds them through its traceback: a few hundred objects a refused request in
            # reference cycles (frames.py)
            let_go(refused)
            raise

    async def _prepare_new(
        self,
        query: str,
        operation_name: str | None,
        client: str | None,
        key: tuple[str, str | None],
        size: int,
    ) -> Prepared:
        if client is None or self.budgets is None or self.preparation is None:
            return self._prepare_and_keep(query, operation_name, key, size)
        # the same new document from many clients at once (a page's first load, a flash
        # sale's first buyers) is prepared once: the first pays, the others wait for it
        pending = self._preparing.get(key)
        if pending is not None:
            await asyncio.wait({pending})  # never cancels it
            failed = pending.cancelled() or isinstance(
                pending.exception(), RateLimited | GatewayBusy
            )
            if failed:  # the first client's own refusal or departure: not this one's
                return await self._prepare_new(query, operation_name, client, key, size)
            return pending.result()  # the document, or the error that refused it
        future: asyncio.Future[Prepared] = asyncio.get_running_loop().create_future()
        self._preparing[key] = future
        try:
            prepared = await self._prepare_paid(client, query, operation_name, key)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as error:
            future.set_exception(error)
            future.exception()  # retrieved: no one else may be waiting for it
            raise
        finally:
            del self._preparing[key]
        future.set_result(prepared)
        self.cache.keep(key, prepared, size)
        return prepared

    async def _prepare_paid(
        self, client: str, query: str, operation_name: str | None, key: tuple[str, str | None]
    ) -> Prepared:
        assert self.budgets is not None and self.preparation is not None
        try:
            self.budgets.require_some(client)
        except OverBudget as over:
            raise RateLimited(over) from None
        try:
            timed = await self.preparation.run(
                partial(self._prepare, query, operation_name, key), refusals=(RequestError,)
            )
        except Busy as busy:
            typical = self.preparation.typical_seconds
            self.budgets.charge(client, self.preparation.points(typical))
            raise GatewayBusy(busy) from None
        # refused documents are paid for too: refusing them took the same work
        self.preparation.spent(timed.seconds)
        self.budgets.charge(client, self.preparation.points(timed.seconds))
        return timed.result()

    def _prepare(
        self, query: str, operation_name: str | None, key: tuple[str, str | None]
    ) -> Prepared:
        with collections_paused():  # collection.py: what that saves a new document
            return self._prepared(query, operation_name, key)

    def _prepared(
        self, query: str, operation_name: str | None, key: tuple[str, str | None]
    ) -> Prepared:
        try:
            # graphql-core's tree, settled (prepared_cache.settle), and its node count
            document, nodes = parse_request(query, max_tokens=self.limits.max_tokens)
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
        errors = validate_document(self.supergraph.validation_schema(), document, query)
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
        if not operation.variable_definitions:
            # its cost is the same for every request: over the limit, it would be refused
            # every time, so it is refused now and not kept. A flood of new documents over
            # the limit (random literals, so nothing repeats) would otherwise fill the cache
            # with them, and every full collection would walk them all (measured: a few
            # hundred ms of CPU each, on the event loop, with the cache full of them)
            constant = cost.of({})
            if constant > self.limits.max_cost:
                raise RequestError([cost_limit_error(self.limits, constant)])
        # @skip, @include and @defer: a document whose text has no `@` has no directive,
        # and need not be walked twice more to learn it
        directives = "@" in query
        conditions = condition_variables(document) if directives else frozenset()
        shaping_document = document
        if directives and has_defer(document):
            conditions |= defer_variables(document)
            shaping_document = without_defer(document)
        guard = OperationGuard.of(
            self.supergraph.api_schema, self.supergraph.authorization, document, operation
        )
        return Prepared(
            document,
            operation,
            conditions,
            cost,
            nodes,
            key,
            shaping_document,
            guard=guard,
        )

    def plan(
        self,
        prepared: Prepared,
        variables: Mapping[str, Any],
        labels: frozenset[str] = frozenset(),
        incremental: bool = False,
        access: Access | None = None,
    ) -> Compiled:
        """The plan for these @skip/@include/@defer(if:) values, progressive @override labels
        and what the caller may see (None: everything, for inspection), made once and kept.
        `incremental`: its deferred fragments planned apart, to be delivered after the first
        payload (else @defer is ignored)."""
        conditions = tuple(
            sorted(
                (name, _condition_value(variables, name)) for name in prepared.condition_variables
            )
        )
        failed = prepared.guard.failed(access) if access is not None else frozenset()
        authorization = (failed, access.authenticated) if failed and access else NOTHING_FAILED
        # a caller with refused fields gets its answer whole (graphql-core shapes it)
        incremental = incremental and prepared.defers and not failed
        key: PlanKey = (conditions, tuple(sorted(labels)), incremental, authorization)
        compiled = prepared.plans.get(key)
        if compiled is None:
            # collection.py: the plan, its steps and shape are thousands of new objects too
            with collections_paused():
                compiled = self._compile(prepared, variables, labels, incremental, failed, access)
            if len(prepared.plans) < self.cache.limits.max_plans:
                prepared.plans[key] = compiled
                self.cache.planned(prepared.key, prepared)
        return compiled

    def _compile(
        self,
        prepared: Prepared,
        variables: Mapping[str, Any],
        labels: frozenset[str],
        incremental: bool,
        failed: frozenset[Requirement],
        access: Access | None,
    ) -> Compiled:
        """The plan, steps and response shape of `plan`'s key, made."""
        schema = self.supergraph.api_schema
        filtered = None
        document, operation = prepared.document, prepared.operation
        if failed:
            filtered = authorize(
                schema,
                self.supergraph.authorization,
                document,
                operation,
                failed,
                access is not None and access.authenticated,
            )
            document, operation = filtered.document, filtered.operation
        fragments, deferred = (
            find_deferred(schema, document, operation, variables) if incremental else ([], {})
        )
        try:
            plan = plan_operation(
                self.supergraph.for_labels(labels), document, operation, variables, deferred
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
        if fragments:
            deferral = Deferral.compile(
                schema, prepared.document, prepared.operation, fragments, variables
            )
            response_shape = ResponseShape.compile(
                schema, deferral.document, deferral.operation, variables
            )
            compiled = Compiled(plan, stage_plan(plan), response_shape, deferral)
        else:
            response_shape = ResponseShape.compile(
                schema, prepared.document, prepared.operation, variables
            )
            staged = stage_plan(plan)
            direct, merged = None, None
            if filtered is None and not prepared.is_subscription:
                direct = DirectAnswer.compile(response_shape, staged)
                merged = LazyMergedAnswer(response_shape, staged)
            compiled = Compiled(plan, staged, response_shape, None, filtered, direct, merged)
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
        in-process caller with no budget of its own. `access`: what the caller may see. A
        refused request costs its client `REFUSAL_POINTS`: refusing is cheap, but not free
        when repeated a thousand times a second, and a client whose budget is gone gets
        429s, whatever it sends."""
        if self.budgets is None or client is None:
            values, cost = self._costed(prepared, variables)
            return Admitted(values, cost, None, access)
        try:
            try:
                values, cost = self._costed(prepared, variables)
            except RequestError:
                self.budgets.require_some(client)  # an empty budget: 429, whatever was sent
                self.budgets.charge(client, REFUSAL_POINTS)
                raise
            throttle = self.budgets.take(client, cost)
        except OverBudget as over:
            raise RateLimited(over) from None
        return Admitted(values, cost, throttle, access)

    def _costed(
        self, prepared: Prepared, variables: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], int]:
        """The coerced variables and the operation's cost for them, within `max_cost`."""
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
        return values, cost

    async def hold_refusal(self, retry_after: int) -> None:
        """Wait before answering a 429 or 503 (BudgetLimits.hold_refusals)."""
        if self.budgets is not None:
            await asyncio.sleep(min(retry_after, self.budgets.limits.hold_refusals))

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
        prepared = await self.prepare_for(query, operation_name, client)
        admitted = self.admit(prepared, variables, client, access)
        return await self.run(prepared, admitted, variables, operation_name)

    async def run(
        self,
        prepared: Prepared,
        admitted: Admitted,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        encoded: bool = False,
    ) -> dict[str, Any]:
        """`execute` for an operation already prepared and admitted. `encoded`: the caller
        only encodes the answer with orjson, so its `data` may come already encoded (an
        `orjson.Fragment`), checked and encoded in native code (native_shape.py)."""
        values = admitted.values
        compiled = self.plan(prepared, values, self.override.draw(), access=admitted.access)
        if encoded and compiled.direct is not None:
            answered = await self.executor.execute_direct(
                compiled.staged, values, compiled.direct.decode
            )
            if isinstance(answered, bytes):
                return {"data": orjson.Fragment(answered)}
            state = answered
        else:
            state = await self.executor.execute(compiled.staged, values)
        if encoded and compiled.merged is not None:
            data = compiled.merged.encode(state.data)
            if data is not None:  # else the walk (or graphql-core) decides, in _response
                fragment = orjson.Fragment(data)
                return (
                    {"data": fragment, "errors": state.errors}
                    if state.errors
                    else {"data": fragment}
                )
        return self._response(compiled, prepared.shaping_document, state, variables, operation_name)

    async def run_incremental(
        self,
        prepared: Prepared,
        admitted: Admitted,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """`run` for a client that takes incremental delivery: the payloads of the answer.
        An operation that defers nothing (no @defer, or none active) has one payload, the
        whole answer without `hasNext`; otherwise the first has `hasNext: true`, and each
        deferred part follows as it is done."""
        values = admitted.values
        compiled = self.plan(
            prepared, values, self.override.draw(), incremental=True, access=admitted.access
        )
        deferral = compiled.deferral
        if deferral is None:
            state = await self.executor.execute(compiled.staged, values)
            yield self._response(
                compiled, prepared.shaping_document, state, variables, operation_name
            )
            return
        parts = deferral.order()
        states = self.executor.execute_incrementally(compiled.staged, values, parts)
        try:
            _, first = await anext(states)
            response = self._response(compiled, deferral.document, first, variables, operation_name)
            if response.get("data") is None:  # nothing for the deferred parts to go into
                yield {**response, "hasNext": False}
                return
            yield {**response, "hasNext": True}
            remaining = len(parts)
            async for number, state in states:
                remaining -= 1
                entries = deferral.part(number).payload(first.data, state.errors)
                if entries:
                    yield {"incremental": entries, "hasNext": remaining > 0}
                elif not remaining:
                    yield {"hasNext": False}
        finally:
            await states.aclose()

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
        compiled = self.plan(prepared, values, self.override.draw(), access=admitted.access)
        if not compiled.staged.stages:  # its root field refused (authorization): nothing to open
            yield self._response(
                compiled, prepared.shaping_document, ExecutionState(), variables, operation_name
            )
            return
        source = self.executor.stream(compiled.staged, values)
        events = source.events
        while True:
            try:
                event = source.tagged(await anext(events))
            except StopAsyncIteration:
                return
            except SubgraphUnreachable as error:
                event = source.failed(error)
            data = event.get("data")
            if not isinstance(data, dict):
                yield {"data": None, "errors": event.get("errors") or []}
                return
            started = time.perf_counter()
            state = await self.executor.execute(compiled.staged, values, seed=event)
            answer = self._response(
                compiled, prepared.shaping_document, state, variables, operation_name
            )
            SUBSCRIPTION_EVENT_SECONDS.observe(time.perf_counter() - started)
            yield answer
            # not held while the stream waits for its next event (possibly for hours):
            # thousands of open streams would each keep their last event's whole state
            del event, data, state, answer

    def _response(
        self,
        compiled: Compiled,
        document: DocumentNode,
        state: ExecutionState,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
    ) -> dict[str, Any]:
        """The merged data shaped by the document: compiled, or by graphql-core (which also
        answers the fields taken out for authorization null, with their error)."""
        filtered = compiled.filtered
        if filtered is None:
            data = compiled.shape.shape(state.data)
            if data is not None:  # the regular case, compiled; otherwise graphql-core, below
                return {"data": data, "errors": state.errors} if state.errors else {"data": data}
        # introspection included: the schema operations are validated against, with @defer
        schema = self.supergraph.validation_schema()
        refused = filtered.error if filtered is not None else None
        result = shape(schema, document, state.data, variables, operation_name, refused)
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


def _condition_value(variables: Mapping[str, Any], name: str) -> bool:
    """A condition variable's value as a plan depends on it. Absent stays true: only
    @defer(if:) can take a variable without a value (its argument defaults to true);
    @skip/@include need one, so for them absent never happens past validation."""
    return variables.get(name, True) is not False
