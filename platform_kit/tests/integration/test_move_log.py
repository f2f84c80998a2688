"""The move log of a listing (platform_kit.move_log) on a real database: entries line up with
generations, a reader is told when the log cannot bring it on, and a write that died after
announcing itself is settled once it is stale."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from platform_kit.count_cache import CountCache
from platform_kit.move_log import STALE_SECONDS, KeyMove, LogState, MoveLog


@pytest.fixture
async def state(mongo_uri: str) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    yield client.get_default_database()["listing_state"]
    await client.close()


async def test_each_write_logs_its_moves_with_the_generation_it_moves(
    state: AsyncCollection[dict[str, Any]],
) -> None:
    log = MoveLog(state, "items", "catalog", size=3)
    counts = CountCache(state, "items")
    assert await log.since(0) == (0, [])
    async with log.writing() as write:
        assert not (await log.state_now()).settled  # announced, not yet logged
        write.moved([KeyMove("k", None, "b")])
    async with log.writing() as write:
        write.unchanged()  # e.g. a duplicate refused: no generation
    async with log.writing() as write:
        write.moved([KeyMove("k", "b", "c"), KeyMove("j", "x", None)])
    assert await counts.generations(("catalog",)) == (2,)
    assert await log.state_now() == LogState(2, settled=True)
    assert await log.since(0) == (
        2,
        [[KeyMove("k", None, "b")], [KeyMove("k", "b", "c"), KeyMove("j", "x", None)]],
    )
    assert await log.since(1) == (2, [[KeyMove("k", "b", "c"), KeyMove("j", "x", None)]])
    assert await log.since(2) == (2, [])
    await log.wrote(None)  # a bulk load says nothing of its moves
    assert await log.since(2) is None and await log.since(3) == (3, [])
    for _ in range(3):
        await log.wrote([])
    assert await log.since(3) == (6, [[], [], []])
    assert await log.since(2) is None  # further back than the log keeps


async def test_a_write_that_fails_half_way_logs_that_it_cannot_say_what_it_moved(
    state: AsyncCollection[dict[str, Any]],
) -> None:
    log = MoveLog(state, "items", "catalog")
    with pytest.raises(RuntimeError):
        async with log.writing():
            raise RuntimeError("the database went away after the change")
    assert (await log.state_now()).settled
    assert await log.since(0) is None


async def test_an_announced_write_that_never_logs_is_settled_once_it_is_stale(
    state: AsyncCollection[dict[str, Any]],
) -> None:
    now = [1000.0]
    log = MoveLog(state, "items", "catalog", clock=lambda: now[0])
    writing = log.writing()
    await writing.__aenter__()  # and the process dies
    assert not (await log.state_now()).settled
    now[0] += STALE_SECONDS + 1
    settled = await log.state_now()
    assert settled.settled and settled.generation == 1
    assert await log.since(0) is None  # whatever it did, readers read the keys again
    assert await log.state_now() == settled  # settled once
