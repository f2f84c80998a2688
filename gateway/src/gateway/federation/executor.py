"""Stage 4: run a plan. Knows plan nodes and HTTP, nothing about any particular schema.

Root fetches of a query run concurrently, a mutation's one after another; an entity fetch
runs once its parent has answered, with every representation found at its path in ONE
`_entities` request (identical representations sent once)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.federation.plan import Fetch, KeyField, QueryPlan
from gateway.federation.supergraph import Subgraph
from gateway.metrics import SUBGRAPH_ERRORS, SUBGRAPH_FETCH_SECONDS
from platform_kit.request_context import (
    REQUEST_ID_HEADER,
    current_authorization,
    current_request_id,
)

__all__ = ["ExecutionState", "Executor"]

log = logging.getLogger(__name__)
Json = dict[str, Any]


@dataclass
class ExecutionState:
    data: Json = field(default_factory=dict)
    errors: list[Json] = field(default_factory=list)


class SubgraphFailure(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)


class Executor:
    def __init__(
        self, subgraphs: Mapping[str, Subgraph], urls: Mapping[str, str], timeout: float
    ) -> None:
        self.subgraphs = subgraphs
        self.urls = dict(urls)
        self.clients = {
            graph: httpx.AsyncClient(
                timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            )
            for graph in subgraphs
        }

    async def close(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self.clients.values()))

    async def execute(self, plan: QueryPlan, variables: Mapping[str, Any]) -> ExecutionState:
        state = ExecutionState()
        if plan.kind == "mutation":
            for fetch in plan.fetches:
                await self._run(fetch, variables, state)
        else:
            await asyncio.gather(*(self._run(fetch, variables, state) for fetch in plan.fetches))
        return state

    async def _run(self, fetch: Fetch, variables: Mapping[str, Any], state: ExecutionState) -> None:
        if fetch.entity_type is None:
            ok = await self._root(fetch, variables, state)
        else:
            ok = await self._entities(fetch, variables, state)
        if ok and fetch.children:
            await asyncio.gather(*(self._run(child, variables, state) for child in fetch.children))

    async def _root(
        self, fetch: Fetch, variables: Mapping[str, Any], state: ExecutionState
    ) -> bool:
        used = {name: variables[name] for name in fetch.variables if name in variables}
        try:
            body = await self._post(fetch.graph, fetch.operation, used)
        except SubgraphFailure as failure:
            state.errors.append(self._failure(fetch.graph, str(failure), None))
            return False
        for error in body.get("errors") or ():
            state.errors.append(self._tagged(fetch.graph, error, None))
        data = body.get("data")
        if isinstance(data, dict):
            _merge(state.data, data)
            return True
        return False

    async def _entities(
        self, fetch: Fetch, variables: Mapping[str, Any], state: ExecutionState
    ) -> bool:
        targets = list(_objects_at(state.data, fetch.path, ()))
        representations: list[Json] = []
        index_of: dict[str, int] = {}
        owners: list[list[tuple[Json, tuple[Any, ...]]]] = []
        for obj, obj_path in targets:
            if obj.get("__typename") not in fetch.accepts:
                continue
            representation = _representation(str(fetch.entity_type), obj, fetch.representation)
            if representation is None:
                continue
            fingerprint = json.dumps(representation, sort_keys=True, default=str)
            if fingerprint not in index_of:
                index_of[fingerprint] = len(representations)
                representations.append(representation)
                owners.append([])
            owners[index_of[fingerprint]].append((obj, obj_path))
        if not representations:
            return True
        used: Json = {name: variables[name] for name in fetch.variables if name in variables}
        used["representations"] = representations
        try:
            body = await self._post(fetch.graph, fetch.operation, used)
        except SubgraphFailure as failure:
            first_path = list(owners[0][0][1]) if owners else None
            state.errors.append(self._failure(fetch.graph, str(failure), first_path))
            return False
        entities = (body.get("data") or {}).get("_entities")
        for error in body.get("errors") or ():
            state.errors.append(self._tagged(fetch.graph, error, owners))
        if not isinstance(entities, list):
            return False
        for position, entity in enumerate(entities[: len(owners)]):
            if isinstance(entity, dict):
                for obj, _ in owners[position]:
                    _merge(obj, entity)
        return True

    async def _post(self, graph: str, query: str, variables: Json) -> Json:
        headers = {}
        authorization = current_authorization.get()
        if authorization:
            headers["Authorization"] = authorization
        request_id = current_request_id.get()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        name = self.subgraphs[graph].name
        started = time.perf_counter()
        try:
            response = await self.clients[graph].post(
                self.urls[graph], json={"query": query, "variables": variables}, headers=headers
            )
        except httpx.HTTPError as error:
            SUBGRAPH_ERRORS.labels(name, "transport").inc()
            raise SubgraphFailure(
                f"subgraph {name} did not answer: {type(error).__name__}"
            ) from None
        finally:
            SUBGRAPH_FETCH_SECONDS.labels(name).observe(time.perf_counter() - started)
        try:
            body = response.json()
        except ValueError:
            SUBGRAPH_ERRORS.labels(name, "invalid_response").inc()
            raise SubgraphFailure(
                f"subgraph {name} answered {response.status_code} without GraphQL JSON"
            ) from None
        if not isinstance(body, dict) or ("data" not in body and "errors" not in body):
            SUBGRAPH_ERRORS.labels(name, "invalid_response").inc()
            raise SubgraphFailure(
                f"subgraph {name} answered {response.status_code} without a GraphQL result"
            )
        if body.get("errors"):
            SUBGRAPH_ERRORS.labels(name, "graphql").inc()
        return body

    def _failure(self, graph: str, message: str, path: list[Any] | None) -> Json:
        error: Json = {
            "message": message,
            "extensions": {
                "code": "SERVICE_UNAVAILABLE",
                "serviceName": self.subgraphs[graph].name,
            },
        }
        if path:
            error["path"] = path
        return error

    def _tagged(
        self, graph: str, error: Any, owners: list[list[tuple[Json, tuple[Any, ...]]]] | None
    ) -> Json:
        if not isinstance(error, dict):
            error = {"message": str(error)}
        tagged: Json = {"message": str(error.get("message", "subgraph error"))}
        extensions = dict(error.get("extensions") or {})
        extensions.setdefault("serviceName", self.subgraphs[graph].name)
        tagged["extensions"] = extensions
        path = error.get("path")
        if isinstance(path, list) and path:
            if (
                owners is not None
                and path[0] == "_entities"
                and len(path) > 1
                and isinstance(path[1], int)
                and path[1] < len(owners)
                and owners[path[1]]
            ):
                tagged["path"] = [*owners[path[1]][0][1], *path[2:]]
            elif owners is None:
                tagged["path"] = path
        return tagged


def _objects_at(
    value: Any, path: tuple[str, ...], at: tuple[Any, ...]
) -> list[tuple[Json, tuple[Any, ...]]]:
    """The objects found at `path`, lists flattened, with their response paths."""
    if value is None:
        return []
    if isinstance(value, list):
        found = []
        for index, item in enumerate(value):
            found += _objects_at(item, path, (*at, index))
        return found
    if not isinstance(value, dict):
        return []
    if not path:
        return [(value, at)]
    return _objects_at(value.get(path[0]), path[1:], (*at, path[0]))


def _representation(typename: str, obj: Json, fields: tuple[KeyField, ...]) -> Json | None:
    representation: Json = {"__typename": typename}
    for key_field in fields:
        value = _extract(obj.get(key_field.alias), key_field.children)
        if value is None and not key_field.nullable:
            return None  # a null key names no entity: nothing to fetch for this object
        representation[key_field.name] = value
    return representation


def _extract(value: Any, children: tuple[KeyField, ...]) -> Any:
    if not children or value is None:
        return value
    if isinstance(value, list):
        return [_extract(item, children) for item in value]
    if isinstance(value, dict):
        typename = value.get("__typename")
        return {
            child.name: _extract(value.get(child.alias), child.children)
            for child in children
            if child.only_for is None or typename in child.only_for
        }
    return value


def _merge(target: Json, source: Json) -> None:
    for key, value in source.items():
        existing = target.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            _merge(existing, value)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            for left, right in zip(existing, value, strict=True):
                if isinstance(left, dict) and isinstance(right, dict):
                    _merge(left, right)
            if not all(isinstance(v, dict) for v in value):
                target[key] = value
        else:
            target[key] = value
