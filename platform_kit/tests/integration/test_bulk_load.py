"""Indexes built after a load (platform_kit.bulk_load), on a real database: only into an empty
collection, never the unique ones, and always rebuilt, even when the load fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from platform_kit.bulk_load import indexes_built_after

MODELS = [
    IndexModel([("key", ASCENDING)], name="key"),
    IndexModel([("fence", ASCENDING)], name="fence", sparse=True),
    IndexModel([("code", ASCENDING)], name="code_unique", unique=True),
]
ALL = {"_id_", "key", "fence", "code_unique"}


@pytest.fixture
async def items(mongo_uri: str) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    collection = client.get_default_database()["items"]
    await collection.create_indexes(MODELS)
    yield collection
    await client.close()


async def names(collection: AsyncCollection[dict[str, Any]]) -> set[str]:
    return set(await collection.index_information())


async def test_into_an_empty_collection_only_the_unique_indexes_stay_during_the_load(
    items: AsyncCollection[dict[str, Any]],
) -> None:
    async with indexes_built_after(items, MODELS) as deferred:
        assert deferred
        assert await names(items) == {"_id_", "code_unique"}
        await items.insert_many([{"key": n, "code": n} for n in range(50)])
    assert await names(items) == ALL
    plan = await items.find({"key": 7}).explain()
    assert "IXSCAN" in str(plan["queryPlanner"]["winningPlan"])


async def test_a_collection_with_documents_keeps_its_indexes(
    items: AsyncCollection[dict[str, Any]],
) -> None:
    await items.insert_one({"key": 0})
    async with indexes_built_after(items, MODELS) as deferred:
        assert not deferred
        assert await names(items) == ALL


async def test_a_failed_load_leaves_the_indexes_built(
    items: AsyncCollection[dict[str, Any]],
) -> None:
    with pytest.raises(RuntimeError):
        async with indexes_built_after(items, MODELS):
            await items.insert_one({"key": 1})
            raise RuntimeError("the loader failed")
    assert await names(items) == ALL
    assert await items.count_documents({"key": 1}) == 1
