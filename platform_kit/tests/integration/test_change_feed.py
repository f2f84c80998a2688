"""The change feed on a real SecantusDB: one stream read for many subscribers, a slow
subscriber cut off alone, and the resume tokens the reader relies on honoured by the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from platform_kit.change_feed import (
    BadPosition,
    ChangeFeed,
    FeedLimits,
    FeedUnavailable,
    SlowSubscriber,
)
from platform_kit.stream_positions import POSITIONS, Position

Document = dict[str, Any]


def _value(event: Mapping[str, Any]) -> int | None:
    document = event.get("fullDocument")
    return int(document["n"]) if isinstance(document, Mapping) and "n" in document else None


@pytest.fixture
async def client(mongo_uri: str) -> AsyncIterator[AsyncMongoClient[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_uri, tz_aware=True)
    yield client
    await client.close()


async def _next(subscriber: AsyncIterator[int]) -> int:
    return await asyncio.wait_for(anext(subscriber), 10)


async def test_every_subscriber_gets_every_change_in_order_from_one_stream(
    client: AsyncMongoClient[Document],
) -> None:
    things = client.get_default_database()["things"]
    feed = ChangeFeed("things", things, _value)
    try:
        async with feed.subscribe() as first, feed.subscribe() as second:
            assert feed.subscribers == 2
            for n in range(5):
                await things.insert_one({"n": n})
            await things.update_one({"n": 4}, {"$set": {"n": 40}})
            assert [await _next(first) for _ in range(6)] == [0, 1, 2, 3, 4, 40]
            assert [await _next(second) for _ in range(6)] == [0, 1, 2, 3, 4, 40]
        assert feed.subscribers == 0
    finally:
        await feed.close()


async def test_a_keyed_subscriber_gets_only_its_keys_changes_and_others_still_get_all(
    client: AsyncMongoClient[Document],
) -> None:
    things = client.get_default_database()["things"]
    feed = ChangeFeed("things", things, _value, key=lambda n: n % 10)
    try:
        async with (
            feed.subscribe(3) as threes,
            feed.subscribe(3) as also_threes,
            feed.subscribe(7) as sevens,
            feed.subscribe() as every,
        ):
            assert feed.subscribers == 4
            for n in (3, 7, 13, 5, 23):
                await things.insert_one({"n": n})
            assert [await _next(every) for _ in range(5)] == [3, 7, 13, 5, 23]
            assert [await _next(threes) for _ in range(3)] == [3, 13, 23]
            assert [await _next(also_threes) for _ in range(3)] == [3, 13, 23]
            assert await _next(sevens) == 7
            await things.insert_one({"n": 17})
            assert await _next(sevens) == 17  # nothing of the others' keys came before it
        assert feed.subscribers == 0
        assert not feed._keyed  # an emptied key is forgotten
    finally:
        await feed.close()


async def test_a_slow_subscriber_is_cut_off_and_the_others_keep_receiving(
    client: AsyncMongoClient[Document],
) -> None:
    things = client.get_default_database()["things"]
    feed = ChangeFeed("things", things, _value, FeedLimits(queue_size=3))
    try:
        async with feed.subscribe() as slow, feed.subscribe() as reader:
            for n in range(6):
                await things.insert_one({"n": n})
                assert await _next(reader) == n  # reads each as it comes; `slow` reads none
            with pytest.raises(SlowSubscriber):
                await _next(slow)
            await things.insert_one({"n": 99})
            assert await _next(reader) == 99
    finally:
        await feed.close()


async def test_a_stream_resumes_after_its_last_read_change(
    client: AsyncMongoClient[Document],
) -> None:
    """What the reader does after a dropped connection: watch again from its token."""
    things = client.get_default_database()["things"]
    async with await things.watch(full_document="updateLookup") as stream:
        await things.insert_one({"n": 1})
        await things.insert_one({"n": 2})
        first = await stream.next()
        token = stream.resume_token
    assert _value(first) == 1
    await things.insert_one({"n": 3})  # made while nobody watched
    async with await things.watch(full_document="updateLookup", resume_after=token) as stream:
        assert [_value(await stream.next()) for _ in range(2)] == [2, 3]


@contextmanager
def positioned() -> Iterator[Position]:
    """The positions of a subscription operation (what the GraphQL transport sets)."""
    position = Position()
    token = POSITIONS.set(position)
    try:
        yield position
    finally:
        POSITIONS.reset(token)


def last_of(position: Position) -> str:
    assert position.last is not None
    return position.last


async def test_a_subscriber_resumes_from_a_position_another_process_gave(
    client: AsyncMongoClient[Document],
) -> None:
    """A feed of a later life (a restarted service) asked to start after the last change a
    consumer received: the changes made meanwhile come first, then the live ones, each
    once, in order."""
    things = client.get_default_database()["things"]
    first_life = ChangeFeed("things", things, _value)
    try:
        with positioned() as position:
            async with first_life.subscribe() as subscriber:
                await things.insert_one({"n": 1})
                assert await _next(subscriber) == 1
    finally:
        await first_life.close()
    for n in (2, 3, 4):  # while no feed runs
        await things.insert_one({"n": n})
    later_life = ChangeFeed("things", things, _value)
    try:
        with positioned() as resumed:
            async with later_life.subscribe(resume_after=last_of(position)) as again:
                assert [await _next(again) for _ in range(3)] == [2, 3, 4]
                await things.insert_one({"n": 5})  # live: from the shared stream
                assert await _next(again) == 5
                await things.insert_one({"n": 6})
                assert await _next(again) == 6
            assert last_of(resumed) != last_of(position)
    finally:
        await later_life.close()


async def test_changes_made_while_catching_up_come_once_and_in_order(
    client: AsyncMongoClient[Document],
) -> None:
    """The hand-over from the catch-up to the shared stream while changes keep coming:
    nothing lost, nothing twice."""
    things = client.get_default_database()["things"]
    feed = ChangeFeed("things", things, _value, key=lambda n: n % 2)
    try:
        with positioned() as position:
            async with feed.subscribe() as everything:
                await things.insert_one({"n": 0})
                assert await _next(everything) == 0
        start = last_of(position)
        for n in range(1, 40):  # before the resumed subscriber exists
            await things.insert_one({"n": n})

        async def writer() -> None:
            for n in range(40, 80):  # while it catches up
                await things.insert_one({"n": n})

        writing = asyncio.create_task(writer())
        async with feed.subscribe(0, resume_after=start) as evens:
            received = [await _next(evens) for _ in range(39)]
        await writing
        assert received == list(range(2, 80, 2))
    finally:
        await feed.close()


async def test_a_position_that_is_not_one_is_refused_before_anything_is_read(
    client: AsyncMongoClient[Document],
) -> None:
    things = client.get_default_database()["things"]
    feed = ChangeFeed("things", things, _value)
    try:
        with pytest.raises(BadPosition):
            async with feed.subscribe(resume_after='{"$where": "1"}'):
                pass
        assert feed.subscribers == 0
    finally:
        await feed.close()


async def test_a_position_the_server_does_not_know_ends_the_subscriber_with_a_coded_error(
    client: AsyncMongoClient[Document],
) -> None:
    things = client.get_default_database()["things"]
    feed = ChangeFeed("things", things, _value)
    try:
        async with feed.subscribe(resume_after="00ff") as subscriber:
            with pytest.raises(FeedUnavailable):
                await _next(subscriber)
    finally:
        await feed.close()
