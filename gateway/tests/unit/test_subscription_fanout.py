"""Client subscriptions share one stream when, and only when, nothing a subgraph could
decide by differs between them: the same operation, variables and access, and the very same
credentials (or a root field the operator declared the same for anyone). Each subscriber
keeps its own bounded queue: a slow one is cut off alone; the last to leave stops the stream;
a new supergraph (a new Gateway) starts new streams while the open ones keep running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.entrypoints.subscriptions import (
    SlowConsumer,
    SubscriptionRun,
    fanout_of,
    topic_key,
)
from gateway.federation.authorization import ANONYMOUS, Access
from gateway.federation.pipeline import Admitted, Gateway, Prepared
from gateway.federation.supergraph import Supergraph

SUPERGRAPH = Supergraph.parse(
    (Path(__file__).resolve().parents[2] / "supergraph.graphql").read_text()
)
ORDERS = "subscription($id: ID) { orderUpdated(id: $id) { id status } }"
PRODUCTS = "subscription($id: ID) { productUpdated(id: $id) { id stock } }"
CUSTOMER = Access.signed_in("customer")


class FakeGateway(Gateway):
    """The pipeline's prepare, and a subscribe fed by the test: each call is one upstream
    stream (counted)."""

    def __init__(self) -> None:
        super().__init__(SUPERGRAPH, executor=None)  # type: ignore[arg-type]
        self.streams: list[asyncio.Queue[dict[str, Any] | None]] = []
        self.closed = 0

    async def subscribe(  # type: ignore[override]
        self, prepared: Prepared, admitted: Admitted, variables: Any, operation_name: Any
    ) -> AsyncIterator[dict[str, Any]]:
        events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.streams.append(events)
        try:
            while (event := await events.get()) is not None:
                yield event
        finally:
            self.closed += 1


def _admitted(values: dict[str, Any], access: Access = CUSTOMER) -> Admitted:
    return Admitted(values=values, cost=1, throttle=None, access=access)


def _key(
    query: str, values: dict[str, Any], token: str | None, shared: frozenset[str] = frozenset()
) -> Any:
    prepared = FakeGateway().prepare(query, None)
    return topic_key(prepared, _admitted(values), token, shared)


def test_only_the_very_same_credentials_share_a_stream() -> None:
    alice, _ = _key(ORDERS, {"id": None}, "Bearer alice")
    assert _key(ORDERS, {"id": None}, "Bearer alice")[0] == alice
    assert _key(ORDERS, {"id": None}, "Bearer bob")[0] != alice
    assert _key(ORDERS, {"id": None}, None)[0] != alice
    assert _key(ORDERS, {"id": "1"}, "Bearer alice")[0] != alice
    # another field declared shared changes nothing for this one
    assert _key(ORDERS, {"id": None}, "Bearer bob", frozenset({"productUpdated"}))[0] != alice
    prepared = FakeGateway().prepare(ORDERS, None)
    as_admin = topic_key(prepared, _admitted({"id": None}, ANONYMOUS), "Bearer alice", frozenset())
    assert as_admin[0] != alice  # another access: another plan


def test_a_field_declared_the_same_for_anyone_is_one_anonymous_stream() -> None:
    alice, opened_as = _key(PRODUCTS, {"id": "7"}, "Bearer alice", frozenset({"productUpdated"}))
    assert opened_as is None
    assert _key(PRODUCTS, {"id": "7"}, "Bearer bob", frozenset({"productUpdated"}))[0] == alice
    assert _key(PRODUCTS, {"id": "8"}, "Bearer bob", frozenset({"productUpdated"}))[0] != alice


def _run(gateway: FakeGateway, token: str, queue_size: int = 4) -> SubscriptionRun:
    prepared = gateway.prepare(ORDERS, None)
    return SubscriptionRun(
        gateway,
        prepared,
        _admitted({"id": None}),
        None,
        None,
        authorization=token,
        queue_size=queue_size,
    )


async def _next(run: SubscriptionRun) -> dict[str, Any]:
    return await asyncio.wait_for(anext(run), 5)


async def test_subscribers_of_one_key_share_one_stream_and_a_slow_one_is_cut_off_alone() -> None:
    gateway = FakeGateway()
    reader, slow, other = (
        _run(gateway, "Bearer alice"),
        _run(gateway, "Bearer alice"),
        _run(gateway, "Bearer bob"),
    )
    await asyncio.sleep(0)
    assert len(gateway.streams) == 2  # alice's two share one; bob has his own
    alices, bobs = gateway.streams
    for n in range(6):
        alices.put_nowait({"data": {"n": n}})
        assert (await _next(reader))["data"]["n"] == n  # `slow` reads none
    with pytest.raises(SlowConsumer):
        await _next(slow)
    alices.put_nowait({"data": {"n": 99}})
    assert (await _next(reader))["data"]["n"] == 99
    bobs.put_nowait({"data": {"n": "bob"}})
    assert (await _next(other))["data"]["n"] == "bob"
    assert not other.pending  # nothing of alice's
    await slow.cancel()
    await reader.cancel()
    assert gateway.closed == 1  # the last of alice's left: her stream stopped
    await other.cancel()
    assert gateway.closed == 2 and not fanout_of(gateway).topics


async def test_a_stream_that_ends_ends_every_subscriber_and_the_next_one_opens_anew() -> None:
    gateway = FakeGateway()
    first, second = _run(gateway, "Bearer alice"), _run(gateway, "Bearer alice")
    await asyncio.sleep(0)
    (stream,) = gateway.streams
    stream.put_nowait({"data": None, "errors": [{"message": "gone"}]})
    stream.put_nowait(None)
    for run in (first, second):
        assert (await _next(run))["errors"] == [{"message": "gone"}]
        with pytest.raises(StopAsyncIteration):
            await _next(run)
    third = _run(gateway, "Bearer alice")
    await asyncio.sleep(0)
    assert len(gateway.streams) == 2
    await third.cancel()


async def test_a_new_gateway_starts_its_own_streams_and_the_open_ones_keep_running() -> None:
    before, after = FakeGateway(), FakeGateway()
    kept = _run(before, "Bearer alice")
    new = _run(after, "Bearer alice")
    await asyncio.sleep(0)
    assert len(before.streams) == 1 and len(after.streams) == 1
    before.streams[0].put_nowait({"data": {"n": 1}})
    assert (await _next(kept))["data"]["n"] == 1
    await new.cancel()
    await kept.cancel()
