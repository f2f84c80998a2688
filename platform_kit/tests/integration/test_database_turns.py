"""Turns at the database on a real one: a listing's reads (platform_kit.keyset_walk) take turns
as the client of their request, so a person's page is read between a flood's reads, not after
the flood's backlog."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from platform_kit.database_turns import DatabaseTurns, taking_turns
from platform_kit.keyset_walk import KeyRange, KeysetWalk, OrderedField, take
from platform_kit.ordered_keys import draw_tier, fence_value

FIELD = OrderedField("k", "f")
DOCUMENTS = 600
FLOODERS = 8


class LoggedTurns(DatabaseTurns):
    """Turns that log which client each one went to."""

    def __init__(self, concurrency: int) -> None:
        super().__init__(concurrency)
        self.log: list[str] = []

    @asynccontextmanager
    async def turn(self, client: str, deadline: float | None = None) -> AsyncIterator[None]:
        async with super().turn(client, deadline):
            self.log.append(client)
            yield


@pytest.fixture
async def listed(mongo_uri: str) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    collection = client.get_default_database()["turns_listing"]
    await collection.drop()
    documents = []
    for n in range(DOCUMENTS):
        key = f"{n:06d}"
        document: dict[str, Any] = {"k": key}
        if tier := draw_tier():
            document["f"] = fence_value(tier, key)
        documents.append(document)
    await collection.insert_many(documents)
    await collection.create_index([("k", ASCENDING)])
    await collection.create_index([("f", ASCENDING)], sparse=True)
    yield collection
    await collection.drop()
    await client.close()


async def test_a_persons_page_is_read_between_the_floods_reads(
    listed: AsyncCollection[dict[str, Any]],
) -> None:
    turns = LoggedTurns(1)
    walk = KeysetWalk(listed, FIELD, {"k": 1, "_id": 0})
    flooding = asyncio.Event()

    async def flood() -> None:
        with taking_turns(turns, "flood", None):
            flooding.set()
            while True:  # whole listings, back to back
                async for _window in walk.windows(KeyRange()):
                    pass

    flooders = [asyncio.create_task(flood()) for _ in range(FLOODERS)]
    await flooding.wait()
    await asyncio.sleep(0.2)  # the flood has used the database a while: a backlog waits
    with taking_turns(turns, "person", None):
        start = len(turns.log)
        page = await take(walk, KeyRange(), lambda d: d["k"], descending=True, skip=0, limit=20)
        during = turns.log[start:]
    for flooder in flooders:
        flooder.cancel()
    await asyncio.gather(*flooders, return_exceptions=True)

    assert page.items == [f"{n:06d}" for n in range(DOCUMENTS - 1, DOCUMENTS - 21, -1)]
    person_reads = during.count("person")
    assert person_reads >= 2
    # each of the person's reads waited for the one read that held the turn, not for the
    # reads the eight flooders had waiting
    assert during.count("flood") <= person_reads + 1, during
    assert turns.free == 1
