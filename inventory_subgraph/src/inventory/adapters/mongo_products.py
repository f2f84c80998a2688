"""Products in MongoDB: prices as Decimal128, soft delete, sku unique among live products.

Writes are conditional update_one calls (the condition in the filter keeps each one atomic)
followed, where the document is needed, by a read by _id; never findAndModify, which
SecantusDB answers by scanning the collection (~130 ms at 20k products against ~2 ms)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from itertools import islice
from typing import Any

from bson import Decimal128, ObjectId
from bson.errors import InvalidId
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from inventory.adapters.indexes import PRODUCTS, indexes_of
from inventory.adapters.mongo_product_listing import (
    CATALOG,
    PUBLIC_FIELDS,
    STOCK,
    MongoProductListing,
)
from inventory.adapters.ports import ProductRepository, StockBook, TakeOutcome
from inventory.adapters.product_queries import (
    LISTING_FIELDS,
    LIVE,
    OUT_OF_STOCK_FIELDS,
    listing_fields,
    ordered_field,
    product_scopes,
)
from inventory.domain.errors import DuplicateSku, ProductChanged, ReservationConflict
from inventory.domain.listing import ProductFilter, ProductSort, SortKey, SortValue
from inventory.domain.product import MAX_STOCK, NewProduct, Product, ProductChanges
from inventory.domain.reservation import ReservationLine, ReservedLine
from platform_kit.bulk_load import indexes_built_after
from platform_kit.count_cache import CountCache, ScopeCounts
from platform_kit.database_turns import database_turn
from platform_kit.errors import InvalidInput
from platform_kit.keyset_walk import KeyRange, KeysetWalk
from platform_kit.move_log import KeyMove, MoveLog, Write
from platform_kit.ordered_keys import draw_tier
from platform_kit.paging import PageRequest, Slice

__all__ = [
    "MongoProductRepository",
    "MongoStockBook",
    "list_unlisted_products",
    "listed",
    "object_id",
    "recount_products",
    "to_product",
]

Document = dict[str, Any]
_PUBLIC_FIELDS = PUBLIC_FIELDS
# a change that lands between our read and our write (an order taking stock) makes the
# write match nothing: read again and retry, a few times
_UPDATE_ATTEMPTS = 8
_LISTED_VALUES = frozenset({"name", "price", "category"})  # what moves a product's keys
_TAKE_FIELDS = {
    "name": 1,
    "price": 1,
    "currency": 1,
    "category": 1,
    "stock": 1,
    "deleted_at": 1,
    "holds": 1,
    # what a product's keys are made of: a take of the last units writes its keys among
    # the products out of stock
    "created_at": 1,
    "tier": 1,
}
# what a stock adjustment reads: the stock, and what the product's keys are made of
_KEYED_STOCK_FIELDS = {
    "stock": 1,
    "category": 1,
    "name": 1,
    "price": 1,
    "created_at": 1,
    "tier": 1,
}
MAX_TAKE_ATTEMPTS = 50
IMPORT_BATCH = 1_000  # products a write of a bulk import


def object_id(product_id: str) -> ObjectId | None:
    """Our ids are ObjectId hex strings; anything else names no product."""
    try:
        return ObjectId(product_id) if len(product_id) == 24 else None
    except (InvalidId, TypeError):
        return None


def to_product(doc: Document) -> Product:
    return Product(
        id=str(doc["_id"]),
        sku=doc.get("sku"),
        name=doc["name"],
        description=doc.get("description"),
        category=doc.get("category"),
        price=doc["price"].to_decimal(),
        currency=doc["currency"],
        stock=doc["stock"],
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        version=doc.get("version", 0),
    )


def _stored_fields(values: dict[str, Any]) -> Document:
    return {name: Decimal128(value) if name == "price" else value for name, value in values.items()}


def listed(doc: Document) -> tuple[Document, list[str]]:
    """The listing fields of a stored live product (product_queries.listing_fields)."""
    return listing_fields(
        product_id=str(doc["_id"]),
        name=doc["name"],
        price=doc["price"].to_decimal(),
        created_at=doc["created_at"],
        category=doc.get("category"),
        tier=doc.get("tier", 0),
        out_of_stock=doc["stock"] == 0,
    )


def out_of_stock_keys(doc: Document) -> Document:
    """The keys among the products out of stock of a stored live product, which the write
    that takes its stock to 0 sets (the one that gives stock back removes them)."""
    keys, _ = listed({**doc, "stock": 0})
    return {name: keys[name] for name in OUT_OF_STOCK_FIELDS if name in keys}


# the write that takes a product's stock from 0 removes its keys among those out of stock
LEAVES_OUT_OF_STOCK: Document = {"$unset": dict.fromkeys(OUT_OF_STOCK_FIELDS, "")}


def _moved_stock(delta: int, now: datetime | None = None) -> Document:
    """Adds `delta` to the stock and moves the version on, in one atomic write. (Not an
    update pipeline: the embedded database takes ~17 ms for one against ~2 ms.)"""
    update: Document = {"$inc": {"stock": delta, "version": 1}}
    if now is not None:
        update["$set"] = {"updated_at": now}
    return update


def _at_version(version: int) -> Document:
    """Products written before versions existed, and those loaded in bulk, are at version 0
    (no field). Not `$or`: beside `_id` it made the embedded database scan the collection
    (a first edit of a product took seconds at 100,000 products), `$in` with null does not."""
    if version == 0:
        return {"version": {"$in": [0, None]}}
    return {"version": version}


# the listing keys whose moves the offset anchors follow (fences and pieces of names are not
# positions in a listing)
KEY_FIELDS: tuple[str, ...] = tuple(
    ordered_field(key, in_category=in_category).key
    for key in SortKey
    for in_category in (False, True)
)


def key_moves(before: Document | None, after: Document | None) -> list[KeyMove]:
    """How a write moved a product's listing keys (None: it had none, or has none now)."""
    moves = []
    for name in KEY_FIELDS:
        old = before.get(name) if before is not None else None
        new = after.get(name) if after is not None else None
        if old != new:
            moves.append(KeyMove(name, old, new))
    return moves


def scopes_of(doc: Document) -> list[str]:
    """The counted scopes a stored live product is in (its category, its stock state)."""
    return product_scopes(doc.get("category"), out_of_stock=doc["stock"] == 0)


def _stock_state(stock: int) -> Document:
    """Matches a stock on the same side of 0 as `stock`: a write conditioned on it knows
    whether the product is out of stock when it writes."""
    return {"$eq": 0} if stock == 0 else {"$gt": 0}


def out_of_stock_scopes(category: str | None) -> list[str]:
    """The counted scopes a product enters when its stock reaches 0 (and leaves after)."""
    every = product_scopes(category, out_of_stock=True)
    return every[len(product_scopes(category, out_of_stock=False)) :]


def _stock_moves(delta: int) -> list[tuple[Document, bool]]:
    """The stock bounds of an update that adds `delta`: one that keeps the stock on its side
    of 0, one that takes it across; each with whether it crosses."""
    if delta < 0:
        return [({"$gt": -delta}, False), ({"$eq": -delta}, True)]
    if delta > 0:
        return [({"$gt": 0, "$lte": MAX_STOCK - delta}, False), ({"$eq": 0}, True)]
    return [({"$gte": 0}, False)]


def _duplicate_sku(error: DuplicateKeyError, sku: str | None) -> DuplicateSku:
    return DuplicateSku(sku or str((error.details or {}).get("keyValue", {}).get("sku", "")))


async def list_unlisted_products(products: AsyncCollection[Document], moves: MoveLog) -> int:
    """Products stored before listings had keys get them, and products out of stock stored
    before those had keys of their own get those (once, at start-up; each is its own atomic
    write, matched on the version read, so a restart half-way goes on where it stopped).
    Not logged key by key: offset anchors are read again."""
    done = 0
    unlisted_products = {
        **LIVE,
        "$or": [
            {"kg_created": {"$exists": False}},
            {"stock": 0, OUT_OF_STOCK_FIELDS[0]: {"$exists": False}},
        ],
    }
    async for doc in products.find(unlisted_products):
        tier = doc.get("tier", draw_tier())
        keys, unlisted = listed({**doc, "tier": tier})
        update: Document = {"$set": {**keys, "tier": tier}}
        if unlisted:
            update["$unset"] = dict.fromkeys(unlisted, "")
        result = await products.update_one(
            {"_id": doc["_id"], **LIVE, **_at_version(doc.get("version", 0))}, update
        )
        done += result.modified_count
    if done:
        await moves.wrote(None)
    return done


async def recount_products(
    products: AsyncCollection[Document], scopes: ScopeCounts, counts: CountCache
) -> bool:
    """Counts every scope again from the products themselves (at start-up: mends a count a
    crash left off). Kept only if no product entered or left a listing meanwhile."""
    before = await counts.generations((CATALOG,))
    found: Counter[str] = Counter()
    catalog = KeysetWalk(
        products, ordered_field(SortKey.CREATED_AT, in_category=False), {"category": 1, "stock": 1}
    )
    async for window in catalog.windows(KeyRange(), window_tier=1):
        for doc in window:
            found.update(scopes_of(doc))
    if await counts.generations((CATALOG,)) != before:
        return False
    await scopes.replace(found, await scopes.scopes())
    return True


class MongoProductRepository(ProductRepository):
    def __init__(
        self,
        products: AsyncCollection[Document],
        counts: CountCache,
        scopes: ScopeCounts,
        tiers: Callable[[], int] = draw_tier,
    ) -> None:
        self.products = products
        self.counts = counts
        self.scopes = scopes
        self.tiers = tiers  # each new product's fence tier (tests sample more densely)
        # every write that moves the catalog's generation logs how it moved listing keys
        self.moves = MoveLog(counts.state, counts.listing, CATALOG)
        self.listing = MongoProductListing(products, counts, scopes, to_product, self.moves)

    async def add(self, product: NewProduct, now: datetime) -> Product:
        doc = self._new_document(product, now)
        async with self.moves.writing() as write:
            try:
                await self.products.insert_one(doc)
            except DuplicateKeyError as error:
                write.unchanged()
                raise _duplicate_sku(error, product.sku) from None
            write.moved(key_moves(None, doc))
            await self._moved([doc], +1)
        return to_product(doc)

    async def add_many(self, products: Iterable[NewProduct], now: datetime) -> int:
        """A batch a write (IMPORT_BATCH products), each batch's documents made in a thread
        while the database stores the one before. Into an empty catalog, the listing indexes
        are built once after the load (platform_kit.bulk_load): a quarter less of the
        database's work than writing their entries with every insert."""
        pending = iter(products)

        def next_batch() -> list[Document]:
            return [self._new_document(product, now) for product in islice(pending, IMPORT_BATCH)]

        added = 0
        async with indexes_built_after(self.products, indexes_of(PRODUCTS)):
            documents = await asyncio.to_thread(next_batch)
            while documents:
                stored, documents = await asyncio.gather(
                    self._insert_batch(documents), asyncio.to_thread(next_batch)
                )
                added += stored
        return added

    async def _insert_batch(self, documents: list[Document]) -> int:
        try:
            await self.products.insert_many(documents, ordered=False)
            refused: set[int] = set()
        except BulkWriteError as error:
            if any(e.get("code") != 11000 for e in error.details.get("writeErrors", [])):
                raise
            refused = {e["index"] for e in error.details["writeErrors"]}
        added = [doc for n, doc in enumerate(documents) if n not in refused]
        await self._moved(added, +1)
        # not announced, and too many moves to log: offset anchors are read again
        await self.moves.wrote(None)
        return len(added)

    async def _moved(self, documents: Iterable[Document], sign: int) -> None:
        """Documents entered the listings (+1) or left them (-1): the scopes' counts follow
        (the catalog's generation moves with the write's log entry)."""
        changes: Counter[str] = Counter()
        for doc in documents:
            changes.update({scope: sign for scope in scopes_of(doc)})
        await self.scopes.moved(changes)

    def _new_document(self, product: NewProduct, now: datetime) -> Document:
        doc: Document = {
            "_id": ObjectId(),
            **_stored_fields(
                {
                    "name": product.name,
                    "price": product.price,
                    "description": product.description,
                    "category": product.category,
                    "currency": product.currency,
                    "stock": product.stock,
                }
            ),
            "holds": [],
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
            "tier": self.tiers(),
        }
        if product.sku is not None:
            doc["sku"] = product.sku
        doc.update(listed(doc)[0])
        return doc

    async def get(self, product_id: str) -> Product | None:
        oid = object_id(product_id)
        if oid is None:
            return None
        doc = await self.products.find_one({"_id": oid, **LIVE}, _PUBLIC_FIELDS)
        return to_product(doc) if doc else None

    async def get_many(
        self, product_ids: Iterable[str], *, deleted_too: bool = False
    ) -> dict[str, Product]:
        oids = {oid for oid in map(object_id, product_ids) if oid is not None}
        if not oids:
            return {}
        query: Document = {"_id": {"$in": list(oids)}, **({} if deleted_too else LIVE)}
        cursor = self.products.find(query, _PUBLIC_FIELDS)
        async with database_turn():
            return {str(doc["_id"]): to_product(doc) async for doc in cursor}

    async def update(
        self, product_id: str, changes: ProductChanges, now: datetime
    ) -> Product | None:
        """Read, then write on condition that nothing changed in between (the version), so
        the listing keys written are those of the values the product ends with. Not
        findAndModify: the embedded database answers it by scanning the collection."""
        oid = object_id(product_id)
        if oid is None:
            return None
        values = dict(changes.values)
        async with self._listing_write(bool(_LISTED_VALUES & values.keys())) as write:
            for _attempt in range(_UPDATE_ATTEMPTS):
                current = await self.products.find_one({"_id": oid, **LIVE})
                if current is None:
                    write.unchanged()
                    return None
                version = current.get("version", 0)
                if changes.expected_version is not None and version != changes.expected_version:
                    write.unchanged()
                    raise ProductChanged(product_id)
                cleared = [name for name, value in values.items() if value is None]
                written = _stored_fields({k: v for k, v in values.items() if v is not None})
                after = {**current, **written, "updated_at": now, "version": version + 1}
                for name in cleared:
                    after.pop(name, None)
                keys, unlisted = listed(after)
                after.update(keys)
                update: Document = {
                    "$set": {**written, **keys, "updated_at": now},
                    "$inc": {"version": 1},
                }
                if cleared or unlisted:
                    update["$unset"] = dict.fromkeys([*cleared, *unlisted], "")
                try:
                    result = await self.products.update_one(
                        {"_id": oid, **LIVE, **_at_version(version)}, update
                    )
                except DuplicateKeyError as error:
                    write.unchanged()
                    raise _duplicate_sku(error, values.get("sku")) from None
                if result.modified_count == 1:
                    # a rename that keeps the key still moves the generation: totals of a
                    # text filter count names
                    write.moved(key_moves(current, after))
                    if scopes_of(current) != scopes_of(after):
                        await self._moved([current], -1)
                        await self._moved([after], +1)
                    if (current["stock"] == 0) != (after["stock"] == 0):
                        await self.counts.moved(STOCK)
                    return to_product(after)
            write.unchanged()
        raise ProductChanged(product_id)

    @asynccontextmanager
    async def _listing_write(self, moves_keys: bool) -> AsyncIterator[Write]:
        """A write announced in the move log if it may move listing keys."""
        if not moves_keys:
            yield Write()
            return
        async with self.moves.writing() as write:
            yield write

    async def adjust_stock(self, product_id: str, delta: int, now: datetime) -> Product | None:
        oid = object_id(product_id)
        if oid is None:
            return None
        # the bound is part of the match: the check and the change are one atomic step. One
        # update keeps the product on its side of 0, the other takes it across (to 0 or from
        # it): we know which happened, and the counts of products out of stock (of the
        # category read, which the match holds) follow.
        for _attempt in range(_UPDATE_ATTEMPTS):
            current = await self.products.find_one({"_id": oid, **LIVE}, _KEYED_STOCK_FIELDS)
            if current is None:
                return None
            if not 0 <= current["stock"] + delta <= MAX_STOCK:
                raise InvalidInput("delta", f"would take the stock out of 0 to {MAX_STOCK}")
            category = current.get("category")
            # the values the product's keys are made of are those read: a stock that reaches
            # 0 writes them among the products out of stock
            same = {
                "_id": oid,
                **LIVE,
                "category": {"$eq": category},
                "name": {"$eq": current["name"]},
                "price": {"$eq": current["price"]},
            }
            for bound, crosses in _stock_moves(delta):
                update = _moved_stock(delta, now)
                if crosses and delta < 0:
                    update["$set"] = {**update.get("$set", {}), **out_of_stock_keys(current)}
                elif crosses:
                    update.update(LEAVES_OUT_OF_STOCK)
                result = await self.products.update_one({**same, "stock": bound}, update)
                if result.modified_count == 1:
                    if crosses:
                        # out of stock now (+1), or no longer (-1)
                        await self.scopes.moved(
                            dict.fromkeys(out_of_stock_scopes(category), 1 if delta < 0 else -1)
                        )
                        await self.counts.moved(STOCK)
                    return await self._after_write(oid)
        raise ProductChanged(product_id)

    async def _after_write(self, oid: ObjectId) -> Product | None:
        """The product as it is right after our write (or a later one), read by _id: a
        concurrent delete does not hide a change that was made."""
        doc = await self.products.find_one({"_id": oid}, _PUBLIC_FIELDS)
        return to_product(doc) if doc else None

    async def delete(self, product_id: str, now: datetime) -> bool:
        """Soft delete: orders keep their own snapshot, and a pending reservation can still
        give its units back. The sku moves aside so a new product may take it."""
        oid = object_id(product_id)
        if oid is None:
            return False
        async with self.moves.writing() as write:
            for _attempt in range(_UPDATE_ATTEMPTS):
                doc = await self.products.find_one(
                    {"_id": oid, **LIVE},
                    {"sku": 1, "category": 1, "stock": 1, **dict.fromkeys(KEY_FIELDS, 1)},
                )
                if doc is None:
                    break
                # leaving every listing index with its keys
                update: Document = {
                    "$set": {"deleted_at": now, "updated_at": now},
                    "$unset": dict.fromkeys(LISTING_FIELDS, ""),
                }
                if "sku" in doc:
                    update["$set"]["deleted_sku"] = doc["sku"]
                    update["$unset"]["sku"] = ""
                # the category and stock state read are those it leaves the counts of (an
                # order may take the last units meanwhile: read again)
                result = await self.products.update_one(
                    {
                        "_id": oid,
                        **LIVE,
                        "category": {"$eq": doc.get("category")},
                        "stock": _stock_state(doc["stock"]),
                    },
                    update,
                )
                if result.modified_count == 1:
                    write.moved(key_moves(doc, None))
                    await self._moved([doc], -1)
                    return True
            write.unchanged()
        return False

    async def list(
        self, product_filter: ProductFilter, sort: ProductSort, page: PageRequest[SortValue]
    ) -> Slice[Product]:
        return await self.listing.list(product_filter, sort, page)


class MongoStockBook(StockBook):
    """Stock moves as single-document atomic updates. `holds` lists the reservation ids that
    hold units of the product, which makes every move idempotent per reservation. A move
    that may take a product's stock to 0 or from it tells the listing totals that count
    products in stock (`counts`)."""

    def __init__(self, products: AsyncCollection[Document], counts: CountCache) -> None:
        self.products = products
        self.counts = counts
        # the counts of products out of stock (per category), which a take of the last
        # units and a give-back to an empty product move
        self.scopes = ScopeCounts(counts.state, counts.listing)

    async def take(self, reservation_id: str, line: ReservationLine) -> TakeOutcome:
        """Read the product, then take the units only if the name, price and currency are
        still what was read: the reservation records exactly what it took. A concurrent edit
        makes the update miss, and we read again; concurrent takes change none of those
        fields, so racing buyers never retry each other."""
        oid = object_id(line.product_id)
        if oid is None:
            return TakeOutcome(unknown=True)
        for _ in range(MAX_TAKE_ATTEMPTS):
            doc = await self.products.find_one({"_id": oid}, _TAKE_FIELDS)
            if doc is None:
                return TakeOutcome(unknown=True)
            if reservation_id in doc.get("holds", ()):
                return TakeOutcome(taken=_reserved(line, doc))  # an earlier attempt took it
            if doc.get("deleted_at") is not None:
                return TakeOutcome(unknown=True)
            if doc["stock"] < line.quantity:
                return TakeOutcome(available=int(doc["stock"]))
            unchanged = {
                "_id": oid,
                **LIVE,
                "holds": {"$ne": reservation_id},
                "name": {"$eq": doc["name"]},
                "price": {"$eq": doc["price"]},
                "currency": {"$eq": doc["currency"]},
                # the category whose count of products out of stock a last take moves
                "category": {"$eq": doc.get("category")},
            }
            taken = _taken(reservation_id, line.quantity)
            # some stock stays, or (a second write) the last units go: only then does the
            # product leave the in-stock listings
            result = await self.products.update_one(
                {**unchanged, "stock": {"$gt": line.quantity}}, taken
            )
            if result.modified_count == 1:
                return TakeOutcome(taken=_reserved(line, doc))
            # the last units: the product enters the listing of those out of stock, with
            # the keys of the values its match holds
            last = {**taken, "$set": out_of_stock_keys(doc)}
            result = await self.products.update_one(
                {**unchanged, "stock": {"$eq": line.quantity}}, last
            )
            if result.modified_count == 1:
                await self.scopes.moved(dict.fromkeys(out_of_stock_scopes(doc.get("category")), 1))
                await self.counts.moved(STOCK)
                return TakeOutcome(taken=_reserved(line, doc))
        # edited between every read and update: give up as a crashed worker would (the
        # reservation's lease expires and the sweep gives back what it took)
        raise ReservationConflict(f"product {line.product_id} kept changing; try again")

    async def give_back(self, reservation_id: str, line: ReservationLine) -> bool:
        """The units back, once per reservation. Matched on the stock state, category and
        deletion read, so that we know whether a live product came back in stock (the counts
        of products out of stock follow); a write between the read and ours: read again."""
        oid = object_id(line.product_id)
        if oid is None:
            return False
        for _attempt in range(MAX_TAKE_ATTEMPTS):
            doc = await self.products.find_one(
                {"_id": oid, "holds": reservation_id},
                {"stock": 1, "category": 1, "deleted_at": 1},
            )
            if doc is None:
                return False
            result = await self.products.update_one(
                {
                    "_id": oid,
                    "holds": reservation_id,
                    "stock": _stock_state(doc["stock"]),
                    "category": {"$eq": doc.get("category")},
                    "deleted_at": {"$eq": doc.get("deleted_at")},
                },
                {
                    "$inc": {"stock": line.quantity, "version": 1},
                    "$pull": {"holds": reservation_id},
                    # back in stock: out of the listing of those out of stock
                    **(LEAVES_OUT_OF_STOCK if doc["stock"] == 0 else {}),
                },
            )
            if result.modified_count == 1:
                if doc["stock"] == 0 and doc.get("deleted_at") is None:
                    out = out_of_stock_scopes(doc.get("category"))
                    await self.scopes.moved(dict.fromkeys(out, -1))
                    await self.counts.moved(STOCK)
                return True
        raise ReservationConflict(f"product {line.product_id} kept changing; try again")

    async def forget(self, reservation_id: str, product_id: str) -> None:
        oid = object_id(product_id)
        if oid is not None:
            await self.products.update_one(
                {"_id": oid, "holds": reservation_id}, {"$pull": {"holds": reservation_id}}
            )

    async def available(self, product_id: str) -> int | None:
        oid = object_id(product_id)
        if oid is None:
            return None
        doc = await self.products.find_one({"_id": oid, **LIVE}, {"stock": 1})
        return int(doc["stock"]) if doc else None


def _taken(reservation_id: str, quantity: int) -> Document:
    return {**_moved_stock(-quantity), "$push": {"holds": reservation_id}}


def _reserved(line: ReservationLine, doc: Document) -> ReservedLine:
    return ReservedLine(
        product_id=line.product_id,
        name=doc["name"],
        unit_price=doc["price"].to_decimal(),
        currency=doc["currency"],
        quantity=line.quantity,
    )
