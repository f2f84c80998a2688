"""Loading many documents into an empty collection: its secondary indexes are built once, after
the load, instead of one entry at a time with every insert (what `mongorestore` does, and a
`mongod` index build over existing documents).

On SecantusDB an insert pays for every index of the collection (catalog reads and the key
computation per index, ~0.1 ms per entry written), while an index build over loaded documents
is one pass of the collection and ~18 us an entry (30,000 products: 27 s of the database's CPU
against 36 s). Only valid when the collection holds nothing: a collection that has documents
keeps its indexes, and a load into it pays per insert as before, so listings of what is
already there are never served without their indexes.

Unique indexes are always kept: they refuse duplicates as the documents arrive (a build after
the load would fail on them instead). Whatever happens during the load (an error, a crash of
the loader), the indexes are created again: at the end of the block, and by the owning
service's own `ensure_indexes` at its next start. A reader that comes meanwhile is answered
without them (correct, only slower).

Needs the kit's `mongo` extra (PyMongo)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pymongo
from pymongo import IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import AutoReconnect

__all__ = ["BUILD_TIMEOUT_SECONDS", "deferrable", "indexes_built_after"]

BUILD_TIMEOUT_SECONDS = 900.0
BUILD_ATTEMPTS = 10  # a loaded machine may cancel several in a row (heartbeats time out)


def deferrable(models: Sequence[IndexModel]) -> list[IndexModel]:
    """The indexes that may be built after a load: all but the unique ones."""
    return [model for model in models if not model.document.get("unique")]


@asynccontextmanager
async def indexes_built_after(
    collection: AsyncCollection[dict[str, Any]], models: Sequence[IndexModel]
) -> AsyncIterator[bool]:
    """Within the block, `collection` lacks the non-unique indexes of `models` if it held no
    document when the block began (yields whether it did so); they are built at its end."""
    deferred = deferrable(models)
    empty = await collection.find_one({}, {"_id": 1}) is None
    if not empty or not deferred:
        yield False
        return
    existing = await collection.index_information()
    for model in deferred:
        if model.document["name"] in existing:
            await collection.drop_index(model.document["name"])
    try:
        yield True
    finally:
        # one build a command, each given longer than the client's per-operation bound: a
        # build reads the whole collection (~70 s for the products' text pieces at 100,000
        # products on a loaded 2-core machine)
        for model in deferred:
            await _build(collection, model)


async def _build(collection: AsyncCollection[dict[str, Any]], model: IndexModel) -> None:
    """An index build, asked again if the connection is lost meanwhile: under load the
    driver's monitor may give up on a server busy building and cancel the request, while the
    server goes on; asked again, it answers once the index is there."""
    for attempt in range(BUILD_ATTEMPTS):
        try:
            with pymongo.timeout(BUILD_TIMEOUT_SECONDS):
                await collection.create_indexes([model])
            return
        except AutoReconnect:
            if attempt == BUILD_ATTEMPTS - 1:
                raise
