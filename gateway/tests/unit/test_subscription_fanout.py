"""Client subscriptions share one stream when, and only when, nothing a subgraph could
decide by differs between them: the same operation, variables and access, and the very same
credentials (or a root field the operator declared the same for anyone). Each subscriber
keeps its own bounded queue: a slow one is cut off alone; the last to leave stops the stream;
a new supergraph (a new Gateway) starts new streams while the open ones keep running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.entrypoints.subscriptions import (
    Answer,
    SlowConsumer,
    SubscriptionLimits,
    SubscriptionRun,
    Subscriptions,
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


class Transport:
    """A connection's direct writer: takes answers while open, refuses them while `full`."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.full = False

    def deliver(self, answer: Answer) -> bool:
        if self.full:
            return False
        self.written.append(answer.json)
        return True


def _direct_run(gateway: FakeGateway, transport: Transport, queue_size: int = 4) -> SubscriptionRun:
    prepared = gateway.prepare(PRODUCTS, None)
    return SubscriptionRun(
        gateway,
        prepared,
        _admitted({"id": "7"}),
        None,
        None,
        authorization="Bearer alice",
        queue_size=queue_size,
        shared_fields=frozenset({"productUpdated"}),
        deliver=transport.deliver,
    )


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_answers_go_straight_to_a_writable_transport_encoded_once_for_all() -> None:
    gateway = FakeGateway()
    first, second = Transport(), Transport()
    runs = [_direct_run(gateway, first), _direct_run(gateway, second)]
    await _settle()
    (events,) = gateway.streams
    events.put_nowait({"data": {"productUpdated": {"id": "7", "stock": 3}}})
    await _settle()
    assert first.written == [b'{"data":{"productUpdated":{"id":"7","stock":3}}}']
    # the very same bytes object: encoded once for the topic, not per subscriber
    assert second.written[0] is first.written[0]
    assert all(run.pending == 0 for run in runs)  # nothing queued, no reader woken
    for run in runs:
        await run.cancel()


async def test_a_full_transport_queues_and_keeps_the_order_until_its_reader_catches_up() -> None:
    gateway = FakeGateway()
    transport = Transport()
    run = _direct_run(gateway, transport)
    await _settle()
    (events,) = gateway.streams
    transport.full = True
    events.put_nowait({"data": {"n": 1}})
    await _settle()
    assert run.pending == 1 and transport.written == []
    transport.full = False  # writable again, but 1 waits: 2 must not overtake it
    events.put_nowait({"data": {"n": 2}})
    await _settle()
    assert run.pending == 2 and transport.written == []
    assert (await _next(run))["data"]["n"] == 1
    events.put_nowait({"data": {"n": 3}})  # the reader holds 1, 2 waits: 3 queues too
    await _settle()
    assert (await _next(run))["data"]["n"] == 2
    # the reader is sending 2 until it asks again: 4 waits behind it
    events.put_nowait({"data": {"n": 4}})
    await _settle()
    assert [(await _next(run))["data"]["n"] for _ in range(2)] == [3, 4]
    # the reader is back for more with nothing queued: direct again
    waiting = asyncio.ensure_future(anext(run))
    await _settle()
    events.put_nowait({"data": {"n": 5}})
    await _settle()
    assert transport.written == [b'{"data":{"n":5}}'] and not waiting.done()
    waiting.cancel()
    await run.cancel()


async def test_a_transport_full_for_too_long_cuts_the_subscriber_off() -> None:
    gateway = FakeGateway()
    transport = Transport()
    transport.full = True
    run = _direct_run(gateway, transport, queue_size=2)
    await _settle()
    (events,) = gateway.streams
    for n in range(3):
        events.put_nowait({"data": {"n": n}})
    await _settle()
    with pytest.raises(SlowConsumer):
        await _next(run)


async def test_one_process_timer_pings_every_connection_until_it_leaves() -> None:
    subscriptions = Subscriptions(SubscriptionLimits(keep_alive_seconds=0.01))
    told: list[str] = []
    both = asyncio.Event()

    def ping(name: str) -> Callable[[], None]:
        def callback() -> None:
            told.append(name)
            if {"a", "b"} <= set(told):
                both.set()

        return callback

    first, second = ping("a"), ping("b")
    subscriptions.keep_alive(first)
    subscriptions.keep_alive(second)
    await asyncio.wait_for(both.wait(), 5)  # the timer runs by itself
    timer = subscriptions._keep_alive_timer
    assert timer is not None
    timer.cancel()  # from here the beats are driven by hand
    subscriptions.no_keep_alive(first)
    told.clear()
    subscriptions._beat()
    assert told == ["b"]  # the one that left is not told
    subscriptions.no_keep_alive(second)
    subscriptions._beat()
    assert subscriptions._keep_alive_timer is None  # nobody left: no next beat


async def test_the_pings_of_many_connections_are_spread_over_the_period() -> None:
    subscriptions = Subscriptions(SubscriptionLimits(keep_alive_seconds=3))
    told: list[int] = []
    callbacks = [lambda n=n: told.append(n) for n in range(6)]
    for callback in callbacks:
        subscriptions.keep_alive(callback)
    timer = subscriptions._keep_alive_timer
    assert timer is not None
    timer.cancel()  # the beats driven by hand: three a period, two connections each
    beats = []
    for _ in range(3):
        told.clear()
        subscriptions._beat()
        beats.append(sorted(told))
    assert sorted(n for beat in beats for n in beat) == list(range(6))
    assert all(len(beat) == 2 for beat in beats)
    subscriptions.no_keep_alive(callbacks[0])
    subscriptions.shut_down()
