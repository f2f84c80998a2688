"""What one database operation costs on a products collection, one client at a time: the
numbers behind the listing design (README, "Listings at 100,000 products").

    .venv/bin/python tools/db_costs.py mongodb://127.0.0.1:27017/inventory

Reads the inventory's `products` collection as it is (load it first with
`make seed N=100000`), and writes only to a scratch collection beside it, which it drops.
Prints the median of BENCH_REPEAT runs of each operation.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bson import ObjectId
from pymongo import AsyncMongoClient, ReturnDocument

REPEAT = int(os.environ.get("BENCH_REPEAT", "7"))


async def median_ms(operation: Callable[[], Awaitable[Any]]) -> float:
    took = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        await operation()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


async def main(uri: str) -> None:
    async with AsyncMongoClient[dict[str, Any]](uri) as client:
        db = client.get_default_database()
        products = db["products"]
        size = await products.estimated_document_count()
        sample = await products.find_one({"kg_price": {"$gt": ""}}, {"kg_price": 1})
        if sample is None:
            raise SystemExit("no listed products: run make seed N=100000 first")
        some_id, key = sample["_id"], sample["kg_price"]
        page = (
            await products.find({"kg_price": {"$gt": key}}, {"kg_price": 1})
            .sort("kg_price", 1)
            .limit(33)
            .to_list()
        )
        page_end = page[-1]["kg_price"]
        scratch = db["db_costs_scratch"]
        await scratch.drop()
        # the products' own indexes, so an insert costs what a product's insert costs
        for name, spec in (await products.index_information()).items():
            if name != "_id_":
                options = {
                    k: v
                    for k, v in spec.items()
                    if k in ("unique", "sparse", "partialFilterExpression")
                }
                await scratch.create_index(spec["key"], name=name, **options)
        copies = [
            {**doc, "_id": ObjectId(), "sku": None}
            for doc in await products.find().limit(2000).to_list()
        ]
        for doc in copies:
            doc.pop("sku")
        await scratch.insert_many(copies)
        target = copies[0]["_id"]
        rows = {
            "find one by _id": lambda: products.find_one({"_id": some_id}),
            "an indexed range of 32 products (a listing window)": lambda: (
                products.find({"kg_price": {"$gt": key, "$lte": page_end}})
                .sort("kg_price", 1)
                .to_list()
            ),
            "sorted find with limit 20 (no upper bound)": lambda: (
                products.find({"kg_price": {"$gt": key}}).sort("kg_price", 1).limit(20).to_list()
            ),
            "count_documents({})": lambda: products.count_documents({}),
            "insert one product (every listing index)": lambda: scratch.insert_one(
                {**copies[1], "_id": ObjectId()}
            ),
            "conditional update_one by _id": lambda: scratch.update_one(
                {"_id": target, "stock": {"$gte": 0}}, {"$inc": {"stock": 1}}
            ),
            "findAndModify by _id (2,000 documents)": lambda: scratch.find_one_and_update(
                {"_id": target}, {"$inc": {"stock": 1}}, return_document=ReturnDocument.AFTER
            ),
            "findAndModify by _id (this collection)": lambda: products.find_one_and_update(
                {"_id": some_id}, {"$inc": {"version": 0}}
            ),
        }
        print(f"{size} products; median of {REPEAT}, ms")
        for label, operation in rows.items():
            print(f"  {label:<52}{await median_ms(operation):>10.1f}")
        await scratch.drop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "mongodb://127.0.0.1:27017/inventory"))
