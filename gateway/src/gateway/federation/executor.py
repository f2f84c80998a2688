"""Stage 4b: run a staged plan. Knows plan nodes and HTTP, nothing about any schema.

Steps run one after another, the requests of a step concurrently. Each entity call carries
every representation found at its fetches' paths (identical ones sent once); a fetch whose
parent failed is not sent. Subgraph answers are merged into one response tree."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, groupby, repeat
from operator import methodcaller
from typing import Any

import orjson

from gateway.federation.frames import let_go
from gateway.federation.plan import Fetch, KeyField
from gateway.federation.stages import (
    EntityCall,
    Stage,
    StagedFetch,
    StagedPlan,
    SubgraphRequest,
)
from gateway.federation.subgraph_streams import SubgraphStreams
from gateway.federation.supergraph import Subgraph
from gateway.federation.transport import SubgraphReply, SubgraphTransport, SubgraphUnreachable
from gateway.metrics import SUBGRAPH_ERRORS, SUBGRAPH_FETCH_SECONDS

__all__ = ["ExecutionState", "Executor"]

log = logging.getLogger(__name__)
# calls of one entity fetch with context arguments (one per distinct value) sent at once
MAX_CONTEXT_CALLS_IN_FLIGHT = 8
Json = dict[str, Any]


@dataclass
class ExecutionState:
    data: Json = field(default_factory=dict)
    errors: list[Json] = field(default_factory=list)


class SubgraphFailure(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)


@dataclass
class _Run:
    """One execution: the merged data, errors, and which fetches have answered.

    `found`: the objects at each path walked (`objects_at`), kept while no merge writes a
    key the path goes through: the fetches of a step, and of later steps, read the same
    paths (an entity's subgraphs, each at every place it occurs), and walking them is most
    of the work of building representations. None: nothing kept (a deferred part, whose
    data other parts write into concurrently)."""

    state: ExecutionState
    answered: list[bool]
    variables: Mapping[str, Any]
    found: dict[tuple[str, ...], list[Json]] | None = field(default_factory=dict)

    def objects_at(self, path: tuple[str, ...]) -> list[Json]:
        """`_objects_at`, from the longest prefix already walked."""
        found = self.found
        if found is None:
            return _objects_at(self.state.data, path)
        level = found.get(path)
        if level is not None:
            return level
        depth = len(path) - 1 if found else 0  # nothing kept (a merge just wrote): the root
        while depth and path[:depth] not in found:
            depth -= 1
        level = found[path[:depth]] if depth else [self.state.data]
        for index in range(depth, len(path)):
            if len(level) == 1:  # one object (a deep, branching operation's usual): no maps
                child = level[0].get(path[index])
                if type(child) is dict:
                    level = found[path[: index + 1]] = [child]
                    continue
                if type(child) is list:
                    only = set(map(type, child)) == _OBJECTS_ONLY
                    level = found[path[: index + 1]] = list(child) if only else _only_objects(child)
                    continue
                level = found[path[: index + 1]] = []
                continue
            children = list(map(methodcaller("get", path[index]), level))
            kinds = set(map(type, children))
            below: list[Any]
            if kinds == _LISTS_ONLY:  # a list field: its items, checked at once below
                below = list(chain.from_iterable(children))
            elif kinds == _OBJECTS_ONLY:
                below = children
            else:  # nulls, or lists and objects mixed
                below = []
                for child in children:
                    if type(child) is dict:
                        below.append(child)
                    elif type(child) is list:
                        below += child
            if below and set(map(type, below)) != _OBJECTS_ONLY:
                below = _only_objects(below)  # nulls dropped, nested lists flattened
            level = found[path[: index + 1]] = below
        return level

    def wrote(self, keys: set[str]) -> None:
        """A merge wrote these keys (at any depth): the paths through one are walked anew."""
        if keys and self.found:
            self.found = {
                path: level for path, level in self.found.items() if keys.isdisjoint(path)
            }


class Executor:
    def __init__(
        self,
        subgraphs: Mapping[str, Subgraph],
        urls: Mapping[str, str],
        transport: SubgraphTransport,
        streams: SubgraphStreams | None = None,
    ) -> None:
        self.subgraphs = subgraphs
        self.urls = dict(urls)
        self.transport = transport
        self.streams = streams
        # each subgraph's fetch-time histogram, looked up once (a labels() call locks)
        self._fetch_seconds: dict[str, Any] = {}

    async def close(self) -> None:
        await self.transport.close()

    async def execute(
        self, plan: StagedPlan, variables: Mapping[str, Any], seed: Json | None = None
    ) -> ExecutionState:
        """Run the plan. `seed`: a subscription's event, the answer of its root fetch (the
        plan's first step), so only the steps after it run."""
        run = _Run(ExecutionState(), [False] * len(plan.fetches), variables)
        stages = plan.stages
        if seed is not None:
            (root,) = stages[0].requests
            self._answered_root(root, seed, run)
            stages = stages[1:]
        await self._stages(stages, run)
        return run.state

    async def execute_incrementally(
        self,
        plan: StagedPlan,
        variables: Mapping[str, Any],
        parts: Sequence[tuple[int, int]],
    ) -> AsyncGenerator[tuple[int, ExecutionState], None]:
        """The first payload's fetches, then each deferred part's (`parts`: (id, the id of
        the part it comes after), parents first) once its parent part is done, parts side by
        side. Yields (0, state) first, then (id, state) as each part is done, a part always
        after its parent; every state shares the merged data, each has its own errors."""
        answered = [False] * len(plan.fetches)
        first = _Run(ExecutionState(), answered, variables)
        await self._stages(plan.stages, first)
        yield 0, first.state
        if not parts:
            return
        data = first.state.data
        finished: dict[int, asyncio.Event] = {0: asyncio.Event()}
        finished[0].set()
        for number, _ in parts:
            finished[number] = asyncio.Event()
        done: asyncio.Queue[tuple[int, ExecutionState]] = asyncio.Queue()

        async def part(number: int, parent: int) -> None:
            await finished[parent].wait()
            run = _Run(ExecutionState(data), answered, variables, found=None)
            try:
                await self._stages(plan.deferred.get(number, ()), run)
            finally:  # whatever happens, the part is delivered and the stream goes on
                done.put_nowait((number, run.state))
                finished[number].set()  # after the put: never delivered before its parent

        tasks = [asyncio.create_task(part(number, parent)) for number, parent in parts]
        try:
            for _ in parts:
                yield await done.get()
        finally:
            for task in tasks:
                task.cancel()

    async def _stages(self, stages: Sequence[Stage], run: _Run) -> None:
        for stage in stages:
            if len(stage.requests) == 1:
                await self._request(stage.requests[0], run)
            else:
                await asyncio.gather(*(self._request(request, run) for request in stage.requests))

    async def _request(self, request: SubgraphRequest, run: _Run) -> None:
        if request.root is not None:
            await self._root(request, run)
        else:
            await self._entities(request, run)

    async def _root(self, request: SubgraphRequest, run: _Run) -> None:
        assert request.root is not None
        try:
            body = await self._post(request, _used(request, run.variables))
        except SubgraphFailure as failure:
            run.state.errors.append(self._failure(request.graph, str(failure), None))
            return
        self._answered_root(request, body, run)

    def _answered_root(self, request: SubgraphRequest, body: Json, run: _Run) -> None:
        assert request.root is not None
        for error in body.get("errors") or ():
            run.state.errors.append(self._tagged(request.graph, error, None))
        data = body.get("data")
        if isinstance(data, dict):
            written = set(data)
            _merge(run.state.data, data, written)
            run.wrote(written)
            run.answered[request.root.index] = True

    async def execute_direct(
        self,
        plan: StagedPlan,
        variables: Mapping[str, Any],
        decode: Callable[[bytes], bytes | None],
    ) -> bytes | ExecutionState:
        """A plan of one root fetch: the subgraph's answer as `decode` makes it (the
        client's data, encoded: native_shape.py), or, when `decode` says None, as `execute`
        would have it, from the same answer (one request either way)."""
        (stage,) = plan.stages
        (request,) = stage.requests
        run = _Run(ExecutionState(), [False] * len(plan.fetches), variables)
        try:
            name, reply = await self._send(request, _used(request, variables))
            data = decode(reply.body)
            if data is not None:
                return data
            body = self._parsed(name, reply)
        except SubgraphFailure as failure:
            run.state.errors.append(self._failure(request.graph, str(failure), None))
            return run.state
        self._answered_root(request, body, run)
        return run.state

    def stream(self, plan: StagedPlan, variables: Mapping[str, Any]) -> SubgraphEvents:
        """A subscription's events: its root fetch streamed from the subgraph that owns it,
        each event the GraphQL result of that fetch (`SubgraphEvents`)."""
        if self.streams is None:
            raise SubgraphFailure("this gateway serves no subscriptions")
        (request,) = plan.stages[0].requests
        events = self.streams.stream(
            self.urls[request.graph], request.operation, _used(request, variables)
        )
        return SubgraphEvents(self, request.graph, events)

    async def _entities(self, request: SubgraphRequest, run: _Run) -> None:
        if request.contextual:
            await self._contextual_entities(request, run)
            return
        variables = _used(request, run.variables)
        batches: dict[str, _Batch] = {}
        sent: list[EntityCall] = []
        for call in request.entity_calls:
            batch = _representations(call, run)
            variables[call.variable] = batch.representations
            batches[call.alias] = batch
            if batch.representations:
                sent.append(call)
            else:  # nothing to resolve is an answer too: what follows finds nothing
                for staged in call.fetches:
                    run.answered[staged.index] = _parent_answered(staged.parent, run)
        if sent:
            await self._send_entities(request, variables, batches, sent, run)

    async def _contextual_entities(self, request: SubgraphRequest, run: _Run) -> None:
        """An entity fetch with arguments from context: objects are grouped by the values
        their ancestors give, and each group is one call with those values. Objects can
        bring many distinct values, so only a few of those calls are in flight at once."""
        (call,) = request.entity_calls
        (staged,) = call.fetches
        groups = _contextual_batches(staged, run) if _parent_answered(staged.parent, run) else {}
        in_flight = asyncio.Semaphore(MAX_CONTEXT_CALLS_IN_FLIGHT)

        async def send(values: Json, batch: _Batch) -> None:
            variables = {**_used(request, run.variables), call.variable: batch.representations}
            async with in_flight:
                await self._send_entities(
                    request, {**variables, **values}, {call.alias: batch}, [call], run
                )

        await asyncio.gather(*(send(values, batch) for values, batch in groups.values()))
        run.answered[staged.index] = _parent_answered(staged.parent, run)

    async def _send_entities(
        self,
        request: SubgraphRequest,
        variables: Json,
        batches: dict[str, _Batch],
        sent: list[EntityCall],
        run: _Run,
    ) -> None:
        try:
            body = await self._post(request, variables)
        except SubgraphFailure as failure:
            for call in sent:
                first = batches[call.alias].path_of(0, run.state.data)
                run.state.errors.append(self._failure(request.graph, str(failure), first))
            return
        for error in body.get("errors") or ():
            run.state.errors.append(self._tagged(request.graph, error, batches, run.state.data))
        data = body.get("data")
        if not isinstance(data, dict):
            return
        written: set[str] = set()
        for call in sent:
            entities = data.get(call.alias)
            if not isinstance(entities, list):
                continue
            owners = batches[call.alias].owners
            for entity, group in zip(entities, owners, strict=False):  # extras ignored
                if type(entity) is not dict:
                    continue
                written.update(entity)
                if len(group) == 1:  # one object: no maps
                    (obj,) = group
                    if obj.keys().isdisjoint(entity):
                        obj.update(entity)
                    else:
                        _merge(obj, entity, written)
                elif all(map(entity.keys().isdisjoint, group)):  # only new fields: the usual
                    _consume(map(dict.update, group, repeat(entity)))
                else:
                    for obj in group:
                        _merge(obj, entity, written)
            answered = run.answered
            for staged in call.fetches:  # _parent_answered, inline: a call may carry dozens
                parent = staged.parent
                answered[staged.index] = parent is None or answered[parent]
        run.wrote(written)

    async def _post(self, request: SubgraphRequest, variables: Json) -> Json:
        return self._parsed(*await self._send(request, variables))

    async def _send(self, request: SubgraphRequest, variables: Json) -> tuple[str, SubgraphReply]:
        """The subgraph's name and its reply, not yet parsed."""
        name = self.subgraphs[request.graph].name
        payload = orjson.dumps({"query": request.operation, "variables": variables})
        started = time.perf_counter()
        try:
            reply = await self.transport.post(
                self.urls[request.graph], payload, shareable=request.shareable
            )
        except SubgraphUnreachable as error:
            SUBGRAPH_ERRORS.labels(name, "transport").inc()
            message = f"subgraph {name} did not answer: {error}"
            let_go(error)  # callers coalesced on it hold it (frames.py)
            raise SubgraphFailure(message) from None
        finally:
            timing = self._fetch_seconds.get(name)
            if timing is None:
                timing = self._fetch_seconds[name] = SUBGRAPH_FETCH_SECONDS.labels(name)
            timing.observe(time.perf_counter() - started)
        return name, reply

    def _parsed(self, name: str, reply: SubgraphReply) -> Json:
        try:
            body = orjson.loads(reply.body)
        except orjson.JSONDecodeError:
            SUBGRAPH_ERRORS.labels(name, "invalid_response").inc()
            raise SubgraphFailure(
                f"subgraph {name} answered {reply.status} without GraphQL JSON"
            ) from None
        if not isinstance(body, dict) or ("data" not in body and "errors" not in body):
            SUBGRAPH_ERRORS.labels(name, "invalid_response").inc()
            raise SubgraphFailure(
                f"subgraph {name} answered {reply.status} without a GraphQL result"
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
        self,
        graph: str,
        error: Any,
        batches: dict[str, _Batch] | None = None,
        data: Json | None = None,
    ) -> Json:
        """A subgraph's error, named by service, its path made a path of the client's
        response (an entity's error lands on the first object it was fetched for)."""
        if not isinstance(error, dict):
            error = {"message": str(error)}
        tagged: Json = {"message": str(error.get("message", "subgraph error"))}
        extensions = dict(error.get("extensions") or {})
        extensions.setdefault("serviceName", self.subgraphs[graph].name)
        tagged["extensions"] = extensions
        path = error.get("path")
        if isinstance(path, list) and path:
            if batches is None:
                tagged["path"] = path
            elif len(path) > 1 and isinstance(path[1], int) and data is not None:
                batch = batches.get(path[0])
                found = batch.path_of(path[1], data) if batch is not None else None
                if found is not None:
                    tagged["path"] = [*found, *path[2:]]
        return tagged


def _used(request: SubgraphRequest, variables: Mapping[str, Any]) -> Json:
    return {name: variables[name] for name in request.variables if name in variables}


def _parent_answered(parent: int | None, run: _Run) -> bool:
    return parent is None or run.answered[parent]


class SubgraphEvents:
    """A subscription's stream from its subgraph: `events` to iterate (the subgraph's own
    stream, not wrapped in a generator of ours: one frame fewer held per open stream),
    each passed through `tagged`; a SubgraphUnreachable it raises becomes the error of
    `failed` (coded SERVICE_UNAVAILABLE: a stream ends with it, never with silence)."""

    __slots__ = ("_executor", "_graph", "events")

    def __init__(self, executor: Executor, graph: str, events: AsyncIterator[Json]) -> None:
        self._executor = executor
        self._graph = graph
        self.events = events

    def tagged(self, event: Json) -> Json:
        errors = event.get("errors")
        if not errors:
            return event
        return {**event, "errors": [self._executor._tagged(self._graph, e) for e in errors]}

    def failed(self, error: SubgraphUnreachable) -> Json:
        name = self._executor.subgraphs[self._graph].name
        SUBGRAPH_ERRORS.labels(name, "subscription").inc()
        message = f"subgraph {name} ended the subscription: {error}"
        return {"data": None, "errors": [self._executor._failure(self._graph, message, None)]}


@dataclass
class _Batch:
    """One entity call's representations (each sent once), with the objects each answers
    and the fetch path they were found at (to name a response path for an error)."""

    representations: list[Json] = field(default_factory=list)
    owners: list[list[Json]] = field(default_factory=list)
    found_at: list[tuple[str, ...]] = field(default_factory=list)
    positions: dict[Any, int] = field(default_factory=dict)  # by representation fingerprint
    # representations of plain key fields: by their type and field names, then by their
    # values (one field's value, several fields' tuple of values)
    plain: dict[tuple[str, ...], dict[Any, int]] = field(default_factory=dict)

    def add(self, representation: Json, owner: Json, found_at: tuple[str, ...]) -> None:
        """`owner` gets the answer to `representation`, which is sent once."""
        fingerprint = _fingerprint(representation)
        position = self.positions.get(fingerprint)
        if position is None:
            position = self.positions[fingerprint] = len(self.representations)
            self.representations.append(representation)
            self.owners.append([])
            self.found_at.append(found_at)
        self.owners[position].append(owner)

    def path_of(self, position: int, data: Json) -> list[Any] | None:
        if not 0 <= position < len(self.owners):
            return None
        return _path_to(data, self.found_at[position], self.owners[position][0])


def _representations(call: EntityCall, run: _Run) -> _Batch:
    batch = _Batch()
    answered = run.answered
    for staged in call.fetches:
        parent = staged.parent  # _parent_answered, inline: a call may carry dozens
        if parent is not None and not answered[parent]:
            continue  # its parent failed: what it would read is not there
        fetch = staged.fetch
        accepts = fetch.accepts
        fields = fetch.representation
        objects = run.objects_at(fetch.path)
        if not objects:
            continue
        table = _plain_table(fetch)
        if table is not None:
            positions = batch.plain.get(table)
            if positions is None:
                positions = batch.plain[table] = {}
            if len(objects) != 1 or not _added_one(
                batch, positions, objects[0], fetch.path, accepts, table, fields
            ):
                _add_flat(batch, positions, objects, fetch.path, accepts, table, fields)
            continue
        entity_type = str(fetch.entity_type)
        for obj in objects:
            if obj.get("__typename") not in accepts:
                continue
            representation = _representation(entity_type, obj, fields)
            if representation is not None:
                batch.add(representation, obj, fetch.path)
    return batch


def _add_flat(
    batch: _Batch,
    positions: dict[Any, int],
    objects: list[Json],
    found_at: tuple[str, ...],
    accepts: Any,
    table: tuple[str, ...],
    fields: tuple[KeyField, ...],
) -> None:
    """`_representation` and `_Batch.add` for key fields that are all plain (no
    selections): an object's representation is looked up by its values before any dict is
    built, so an entity found at many places (a product under every review) costs a
    lookup, not a representation, after the first. Such representations are kept apart by
    their type and field names (`table`, its `positions` in `_Batch.plain`): one with a
    selection is never equal to them. One field's are looked up by its value, several
    fields' by the tuple of theirs."""
    entity_type, names = table[0], table[1:]
    owners = batch.owners
    single = len(fields) == 1
    if not set(map(_TYPENAME, objects)).issubset(accepts):
        objects = [obj for obj in objects if obj.get("__typename") in accepts]
    keys: list[Any] = (
        list(map(methodcaller("get", fields[0].alias), objects))
        if single
        else list(zip(*(map(methodcaller("get", f.alias), objects) for f in fields), strict=True))
    )
    grouped = _grouped(objects, keys, single)
    if grouped is not None:  # the usual: every object's key values plain, none null
        for key, group in grouped.items():
            position = positions.get(key)
            if position is None:
                positions[key] = len(batch.representations)
                values = (key,) if single else key
                batch.representations.append(
                    {"__typename": entity_type, **dict(zip(names, values, strict=True))}
                )
                owners.append(group)
                batch.found_at.append(found_at)
            else:
                owners[position] += group
        return
    if single:  # one key field: most entities
        required = not fields[0].nullable
        values = map(methodcaller("get", fields[0].alias), objects)
        for obj, value in zip(objects, values, strict=True):
            if type(value) is str or type(value) is int:  # an entity seen before: inline
                position = positions.get(value)
                if position is not None:
                    owners[position].append(obj)
                    continue
            elif value is None and required:
                continue  # a null key names no entity: nothing to fetch for this object
            _add_plain(batch, positions, value, entity_type, names, (value,), obj, found_at)
        return
    aliases = tuple(key_field.alias for key_field in fields)
    required_fields = tuple(not key_field.nullable for key_field in fields)
    for obj in objects:
        values = tuple(map(obj.get, aliases))
        if None in values and any(
            value is None and needed for value, needed in zip(values, required_fields, strict=True)
        ):
            continue
        try:
            position = positions.get(values)
        except TypeError:  # a list value: _add_plain keys it by its canonical JSON
            position = None
        if position is not None:
            owners[position].append(obj)
            continue
        _add_plain(batch, positions, values, entity_type, names, values, obj, found_at)


def _added_one(
    batch: _Batch,
    positions: dict[Any, int],
    obj: Json,
    found_at: tuple[str, ...],
    accepts: Any,
    table: tuple[str, ...],
    fields: tuple[KeyField, ...],
) -> bool:
    """`_add_flat` for one object (an entity found once at its path: every fetch of a
    deep, branching operation), without the grouping that pays off for many: done, or
    False when its key values are not plain and not null (the general way decides)."""
    if obj.get("__typename") not in accepts:
        return True  # not an object this fetch is for
    key: Any
    single = len(fields) == 1
    if single:
        key = obj.get(fields[0].alias)
        if key is None:
            return False
    else:
        key = tuple([obj.get(key_field.alias) for key_field in fields])
        if None in key:
            return False
    try:
        position = positions.get(key)
    except TypeError:  # a list value: not plain
        return False
    if position is None:
        positions[key] = len(batch.representations)
        values = (key,) if single else key
        batch.representations.append(
            {"__typename": table[0], **dict(zip(table[1:], values, strict=True))}
        )
        batch.owners.append([obj])
        batch.found_at.append(found_at)
    else:
        batch.owners[position].append(obj)
    return True


def _plain_table(fetch: Fetch) -> tuple[str, ...] | None:
    """The entity type and the names of a fetch's representation fields when all are
    plain (no selection), else None: where `_add_flat` keeps their positions. Worked out on
    the fetch's first run and kept on it (a compiled plan's fetches are shared by every
    request of the operation)."""
    fields = fetch.representation
    kept = fetch.plain_table
    if kept is not None and kept[0] is fields:
        return kept[1]
    table = (
        (str(fetch.entity_type), *[key_field.name for key_field in fields])
        if all(not key_field.children for key_field in fields)
        else None
    )
    fetch.plain_table = (fields, table)
    return table


def _add_plain(
    batch: _Batch,
    positions: dict[Any, int],
    key: Any,
    entity_type: str,
    names: tuple[str, ...],
    values: tuple[Any, ...],
    owner: Json,
    found_at: tuple[str, ...],
) -> None:
    """`owner` gets the answer to the representation of these values (`key`: how they
    are looked up), which is sent once."""
    representation = {"__typename": entity_type, **dict(zip(names, values, strict=True))}
    try:
        position = positions.get(key)
    except TypeError:  # a list value: keyed by its canonical JSON, as _fingerprint does
        batch.add(representation, owner, found_at)
        return
    if position is None:
        positions[key] = len(batch.representations)
        batch.representations.append(representation)
        batch.owners.append([owner])
        batch.found_at.append(found_at)
    else:
        batch.owners[position].append(owner)


def _contextual_batches(staged: StagedFetch, run: _Run) -> dict[Any, tuple[Json, _Batch]]:
    """The representations of a fetch with context arguments, by the values of those."""
    fetch = staged.fetch
    depths = {binding.depth for binding in fetch.context}
    groups: dict[Any, tuple[Json, _Batch]] = {}
    for obj, ancestors in _objects_with_ancestors(run.state.data, fetch.path, depths):
        if obj.get("__typename") not in fetch.accepts:
            continue
        representation = _representation(str(fetch.entity_type), obj, fetch.representation)
        if representation is None:
            continue
        values = {
            binding.variable: _extract(
                ancestors[binding.depth].get(binding.field.alias), binding.field.children
            )
            for binding in fetch.context
        }
        group = _fingerprint(values)
        if group not in groups:
            groups[group] = (values, _Batch())
        groups[group][1].add(representation, obj, fetch.path)
    return groups


def _objects_with_ancestors(
    root: Json, path: tuple[str, ...], depths: set[int]
) -> list[tuple[Json, dict[int, Json]]]:
    """`_objects_at`, each object with its ancestors at the given depths (keys walked)."""
    level: list[tuple[Json, dict[int, Json]]] = [(root, {0: root} if 0 in depths else {})]
    for depth, key in enumerate(path, start=1):
        found: list[tuple[Json, dict[int, Json]]] = []
        for obj, ancestors in level:
            children: list[Json] = []
            child = obj.get(key)
            if type(child) is dict:
                children.append(child)
            elif type(child) is list:
                _flatten(child, children)
            for item in children:
                found.append((item, {**ancestors, depth: item} if depth in depths else ancestors))
        level = found
    return level


def _fingerprint(representation: Json) -> Any:
    """Equal for equal representations (built in one field order): its field names and
    values when all are plain values, else the canonical JSON."""
    fingerprint = (tuple(representation), tuple(representation.values()))
    try:
        hash(fingerprint)
    except TypeError:
        return orjson.dumps(representation, option=orjson.OPT_SORT_KEYS)
    return fingerprint


def _objects_at(root: Json, path: tuple[str, ...]) -> list[Json]:
    """The objects found at `path`, lists flattened, in response order."""
    level: list[Json] = [root]
    for key in path:
        found: list[Json] = []
        for obj in level:
            child = obj.get(key)
            if type(child) is dict:
                found.append(child)
            elif type(child) is list:
                _flatten(child, found)
        level = found
    return level


_OBJECTS_ONLY = {dict}
_LISTS_ONLY = {list}
_consume: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend  # runs an iterator through, in C


def _grouped(objects: list[Json], keys: list[Any], single: bool) -> dict[Any, list[Json]] | None:
    """The objects by their key values (one field's value, or the tuple of several),
    first seen first, each group in response order: sorted and grouped in C rather than
    looked up object by object in Python. None when a value is null (which a nullable
    field sends and a key field may not: the caller decides) or not plain (a list, which
    does not hash; values that do not compare)."""
    try:
        firsts = dict.fromkeys(keys)
        if None in firsts if single else any(None in key for key in firsts):
            return None
        order = sorted(range(len(keys)), key=keys.__getitem__)  # stable: response order
    except TypeError:
        return None
    groups = {
        key: list(map(objects.__getitem__, indices))
        for key, indices in groupby(order, keys.__getitem__)
    }
    return {key: groups[key] for key in firsts}


_TYPENAME = methodcaller("get", "__typename")


def _only_objects(items: list[Any]) -> list[Json]:
    objects: list[Json] = []
    _flatten(items, objects)
    return objects


def _flatten(items: list[Any], into: list[Json]) -> None:
    for item in items:
        if type(item) is dict:
            into.append(item)
        elif type(item) is list:
            _flatten(item, into)


def _path_to(value: Any, path: tuple[str, ...], target: Json) -> list[Any] | None:
    """The response path of `target` (found at `path`): only errors need one, so it is
    searched for then rather than carried for every object."""
    if value is target:
        return []
    if type(value) is list:
        for index, item in enumerate(value):
            found = _path_to(item, path, target)
            if found is not None:
                return [index, *found]
        return None
    if type(value) is not dict or not path:
        return None
    found = _path_to(value.get(path[0]), path[1:], target)
    return None if found is None else [path[0], *found]


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


def _merge(target: Json, source: Json, written: set[str]) -> None:
    """`source`'s fields into `target`. `written` gets the keys written below the top
    level (the caller notes the top level's: `source`'s own keys)."""
    if target.keys().isdisjoint(source):  # only new fields (an entity's usual answer)
        target.update(source)
        return
    for key, value in source.items():
        existing = target.get(key)
        if existing is None:
            target[key] = value
        elif type(existing) is dict and type(value) is dict:
            written.update(value)
            _merge(existing, value, written)
        elif type(existing) is list and type(value) is list and len(existing) == len(value):
            plain = False
            for left, right in zip(existing, value, strict=True):
                if type(left) is dict and type(right) is dict:
                    written.update(right)
                    _merge(left, right, written)
                elif type(right) is not dict:
                    plain = True
            if plain:
                target[key] = value
        else:
            target[key] = value
