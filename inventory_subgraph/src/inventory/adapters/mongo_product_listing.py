"""Product listings read from MongoDB as bounded index ranges (platform_kit.keyset_walk), at
the same cost at 100 products as at 100,000.

Two ways in, chosen per request:
- the ordered walk of `plan_listing`'s field and range, the domain's filter dropping what the
  range does not select; a filter the index does not serve stops after `scan_limit`
  products read (a shorter page whose cursor resumes where the scan stopped);
- a few candidates read whole and ordered here: for a text of three characters or more whose
  rarest piece is rare (no product of the 1-in-1024 sample holds it), the products holding
  that piece (`grams`); for a price range of at most CANDIDATE_LIMIT products under another
  sort, that range.
A text whose rarest piece is common is read along the catalog's order of creation, only the
holders of that piece (index `grams_created`: the walk's fences bound each read, a window
sized by how common the sample says the piece is), for its page in that order and for its
total in any: the count reads the products that may match, not the catalog.
A whole scope's total (the catalog, a category) is a count kept beside the products; other
totals are counted by the same reads, up to EXACT_COUNT_LIMIT, and remembered until a write
changes what they count (platform_kit.count_cache).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.collection import AsyncCollection

from inventory.adapters.candidate_keys import CandidateKeys, key_page, product_id_of
from inventory.adapters.product_queries import (
    LISTING_FIELDS,
    OUT_OF_STOCK,
    OUT_OF_STOCK_FIELDS,
    SAMPLE_SPACING,
    TEXT_ORDER,
    ListingPlan,
    in_category,
    listing_terms,
    name_grams,
    ordered_field,
    plan_listing,
    sort_key,
)
from inventory.domain.listing import (
    ProductFilter,
    ProductSort,
    SortKey,
    SortValue,
    sort_value,
)
from inventory.domain.product import Product
from platform_kit.count_cache import CountCache, ScopeCounts
from platform_kit.database_turns import database_turn
from platform_kit.keyset_walk import (
    Counting,
    KeysetWalk,
    OrderedField,
    count,
    count_step,
    take,
)
from platform_kit.move_log import MoveLog
from platform_kit.offset_index import OffsetIndex
from platform_kit.ordered_keys import FENCE_SPACING_BITS, TOP_TIER
from platform_kit.paging import Count, PageRequest, Slice

__all__ = ["CATALOG", "PUBLIC_FIELDS", "STOCK", "MongoProductListing"]

Document = dict[str, Any]
PUBLIC_FIELDS: dict[str, int] = {"holds": 0, "tier": 0, **dict.fromkeys(LISTING_FIELDS, 0)}
# what a listing's total depends on: the catalog (products added, removed, renamed,
# repriced, moved between categories) and, for an in-stock filter, stock reaching or
# leaving 0
CATALOG = "catalog"
STOCK = "stock"
SCAN_LIMIT = 2_000  # products one page may read for a filter the index does not serve
# products one request may read to count a total a filter the index does not serve: the
# count goes on at the next request, "at least" until it is done
COUNT_STEP = 250
# the first step reads more: a catalog of up to that many products has its total at once
FIRST_COUNT_STEP = 1_000
RARE_GRAM_SAMPLE_HITS = 0  # a piece no sampled product holds: about 1,000 products or fewer
CANDIDATE_LIMIT = 2_000  # a price range this small is read whole and ordered here
# a window of a walk that reads part of the catalog's range (a common piece's holders, the
# products out of stock) is sized to hold about this many of them at least: fewer makes more
# queries (each ~1 ms on the embedded database), more reads past a page (~0.15 ms a product)
WINDOW_HOLDERS = 2


class MongoProductListing:
    def __init__(
        self,
        products: AsyncCollection[Document],
        counts: CountCache,
        scopes: ScopeCounts,
        load: Callable[[Document], Product],
        moves: MoveLog | None = None,
        *,
        scan_limit: int = SCAN_LIMIT,
        count_step: int = COUNT_STEP,
        first_count_step: int = FIRST_COUNT_STEP,
    ) -> None:
        self.products = products
        self.counts = counts
        self.scopes = scopes
        self.load = load
        self.scan_limit = scan_limit
        self.count_step = count_step
        self.first_count_step = first_count_step
        # where an offset page starts: kept under CATALOG's generation (every write that
        # moves a product in a listing moves it on), and moved on by the writes' logged moves
        self.offsets = OffsetIndex(counts, (CATALOG,), log=moves)
        # the products out of stock move with every stock that reaches 0 or leaves it, which
        # no move log follows: their anchors are read again after such a write
        self.out_of_stock_offsets = OffsetIndex(counts, (CATALOG, STOCK))
        self.candidates = CandidateKeys()

    async def list(
        self, product_filter: ProductFilter, sort: ProductSort, page: PageRequest[SortValue]
    ) -> Slice[Product]:
        piece: Piece | None = None
        if product_filter.q is not None:
            piece = await self._rarest_piece(product_filter.q)
            if piece is not None and piece.sample_hits <= RARE_GRAM_SAMPLE_HITS:
                async with database_turn():
                    documents = await self.products.find(
                        {"grams": piece.gram}, PUBLIC_FIELDS
                    ).to_list()
                return self._ordered_here(documents, product_filter, sort, page)
        total: Count | None = None  # counted once a request: a count step is a request's
        if _price_bounded(product_filter) and sort.key is not SortKey.PRICE:
            # few products in the price range: read the range, order them here
            total = await self._total(product_filter, piece)
            if total.exact and total.value <= CANDIDATE_LIMIT and _price_range(product_filter):
                return await self._page_of_price_range(product_filter, sort, page)
            if total.exact and total.value <= CANDIDATE_LIMIT:
                by_price = plan_listing(product_filter, ProductSort.PRICE)
                walk = await self._walk(by_price.field, PUBLIC_FIELDS, None, larger_windows=True)
                documents = [d async for window in walk.windows(by_price.keys) for d in window]
                return self._ordered_here(documents, product_filter, sort, page)
        plan = plan_listing(product_filter, sort)
        after = None
        if page.cursor is not None:
            after = sort_key(sort.key, page.cursor.key, page.cursor.last_id)
            if product_filter.category is not None:
                after = in_category(product_filter.category, after)
        walk = await self._walk(plan.field, PUBLIC_FIELDS, piece)
        keys = plan.keys.narrowed(after, descending=sort.descending)
        skip = page.offset if page.cursor is None else 0
        if skip and plan.served:
            # every product of the range is listed: the offset is a position in the range
            offsets = (
                self.out_of_stock_offsets if plan.field.key in OUT_OF_STOCK_FIELDS else self.offsets
            )
            seek = await offsets.seek(walk, keys, descending=sort.descending, offset=skip)
            keys, skip = seek.keys, seek.skip
        taken = await take(
            walk,
            keys,
            self.load,
            descending=sort.descending,
            skip=skip,
            limit=page.limit,
            accept=product_filter.matches,
            scan_limit=None if plan.served else self.scan_limit,
        )
        if total is None:
            total = await self._total(product_filter, piece)
        return Slice(taken.items, total, taken.resume_after)

    async def _walk(
        self,
        field: OrderedField,
        projection: Mapping[str, int],
        piece: Piece | None,
        *,
        larger_windows: bool = False,
    ) -> KeysetWalk:
        """The walk of `field`. Along the catalog's order of creation with a common piece of
        text, only that piece's holders; among the products out of stock, only those: each
        by windows between the catalog's fences that hold about WINDOW_HOLDERS of them or
        more (larger with `larger_windows`, for a count)."""
        if field.key in OUT_OF_STOCK_FIELDS:
            counted = await self.scopes.values({"": 1, OUT_OF_STOCK: 1})
            share = counted.get(OUT_OF_STOCK, 0) / max(counted.get("", 0), 1)
            tier = _window_tier(share, larger=larger_windows)
            return KeysetWalk(self.products, field, projection, window_tier=tier)
        if piece is None or field != TEXT_ORDER:
            return KeysetWalk(self.products, field, projection)
        catalog = (await self.scopes.values({"": 1})).get("", 0)
        # the share of the catalog holding the piece, as the sample tells it
        share = piece.sample_hits * SAMPLE_SPACING / max(catalog, 1)
        # the key stays in what is read: each window is ordered here
        kept = {name: v for name, v in projection.items() if not (name == field.key and v == 0)}
        return KeysetWalk(
            self.products,
            field,
            kept,
            match={"grams": piece.gram},
            window_tier=_window_tier(share, larger=larger_windows),
        )

    async def _total(self, product_filter: ProductFilter, piece: Piece | None = None) -> Count:
        terms = listing_terms(product_filter)
        if terms is not None:
            return await self.scopes.total(terms)
        aspects = _aspects(product_filter)
        plan = _count_plan(product_filter)
        if plan.served:
            walk = await self._walk(plan.field, {"_id": 1}, None, larger_windows=True)
            return await self.counts.total(
                product_filter, aspects, lambda: count(walk, plan.keys, lambda document: document)
            )
        text = product_filter.q
        if text is not None and product_filter == ProductFilter(q=text):
            # text alone: the name (and the key, to go on from) is all a count needs
            fields: Mapping[str, int] = {"name": 1, plan.field.key: 1, "_id": 0}
            load: Callable[[Document], Any] = _as_read
            accept: Callable[[Any], bool] = _name_holds(text)
        else:
            # the key stays in what is read, to go on from
            fields = {name: 0 for name in PUBLIC_FIELDS if name != plan.field.key}
            load, accept = self.load, product_filter.matches
        walk = await self._walk(plan.field, fields, piece, larger_windows=True)

        async def step(since: Counting | None) -> Counting:
            return await count_step(
                walk,
                plan.keys,
                load,
                accept,
                step=self.count_step if since is not None else self.first_count_step,
                since=since,
            )

        return await self.counts.total_in_steps(product_filter, aspects, step)

    async def _page_of_price_range(
        self, product_filter: ProductFilter, sort: ProductSort, page: PageRequest[SortValue]
    ) -> Slice[Product]:
        """A page of a price range (and category) in another sort's order: the range's keys
        of that sort, read key-only and kept in order until a write moves keys
        (candidate_keys), and the page's products read by id."""
        by_price = plan_listing(product_filter, ProductSort.PRICE)
        key_field = ordered_field(sort.key, in_category=False).key
        walk = KeysetWalk(self.products, by_price.field, {key_field: 1})

        async def read() -> list[str]:
            return [d[key_field] async for window in walk.windows(by_price.keys) for d in window]

        generations = await self.counts.generations((CATALOG,))
        keys = await self.candidates.keys((product_filter, sort.key), generations, read)
        after = None
        if page.cursor is not None:
            after = sort_key(sort.key, page.cursor.key, page.cursor.last_id)
        shown = key_page(
            keys,
            after=after,
            descending=sort.descending,
            offset=page.offset if page.cursor is None else 0,
            limit=page.limit,
        )
        ids = [object_id_of(key) for key in shown.keys]
        async with database_turn():
            found = {
                str(document["_id"]): self.load(document)
                async for document in self.products.find({"_id": {"$in": ids}}, PUBLIC_FIELDS)
            }
        items = [found[str(oid)] for oid in ids if str(oid) in found]
        return Slice(items, Count(len(keys)), items[-1] if shown.more and items else None)

    async def _rarest_piece(self, text: str) -> Piece | None:
        """The piece of `text` fewest sampled products hold (None: `text` has no piece)."""
        grams = name_grams(text)
        if not grams:
            return None
        held: Counter[str] = Counter()
        cursor = self.products.find({"sample_grams": {"$in": grams}}, {"sample_grams": 1, "_id": 0})
        wanted = set(grams)
        async with database_turn():
            async for document in cursor:
                held.update(wanted.intersection(document["sample_grams"]))
        rarest = min(grams, key=lambda gram: (held[gram], gram))
        return Piece(rarest, held[rarest])

    def _ordered_here(
        self,
        documents: Sequence[Document],
        product_filter: ProductFilter,
        sort: ProductSort,
        page: PageRequest[SortValue],
    ) -> Slice[Product]:
        """A page of a few candidates (at most CANDIDATE_LIMIT or so), ordered here."""
        found = [
            product for product in map(self.load, documents) if product_filter.matches(product)
        ]
        found.sort(key=lambda product: _order(product, sort.key), reverse=sort.descending)
        if page.cursor is not None:
            cursor = page.cursor
            found = [
                product
                for product in found
                if _follows(product, sort, (cursor.key, cursor.last_id))
            ]
            start = 0
        else:
            start = page.offset
        items = found[start : start + page.limit]
        more = len(found) > start + page.limit
        total = Count(len(found)) if page.cursor is None else Count(page.offset + len(found))
        return Slice(items, total, items[-1] if more and items else None)


@dataclass(frozen=True, slots=True)
class Piece:
    """A three-character piece of a text, and how many products of the 1-in-1024 sample
    hold it."""

    gram: str
    sample_hits: int


def _window_tier(share: float, *, larger: bool) -> int:
    """The fence tier whose windows hold about WINDOW_HOLDERS products or more of a part of
    the catalog that is `share` of it (one tier up with `larger`)."""
    spacing = 1 << FENCE_SPACING_BITS  # about that many products a window of tier 0
    tier = 0
    while tier < TOP_TIER - 1 and share * spacing ** (tier + 1) < WINDOW_HOLDERS:
        tier += 1
    return min(tier + 1, TOP_TIER - 1) if larger else tier


def _as_read(document: Document) -> Document:
    return document


def _name_holds(text: str) -> Callable[[Document], bool]:
    """ProductFilter.matches for a text alone, on a document read with its name only."""
    folded = text.casefold()
    return lambda document: folded in str(document["name"]).casefold()


def _order(product: Product, key: SortKey) -> tuple[Any, str]:
    return (sort_value(product, key), product.id)


def _follows(product: Product, sort: ProductSort, after: tuple[Any, str]) -> bool:
    order = _order(product, sort.key)
    return bool(order < after) if sort.descending else bool(order > after)


def _count_plan(product_filter: ProductFilter) -> ListingPlan:
    """Counted along price when prices are bounded: that range holds only what it counts."""
    by = ProductSort.PRICE if _price_bounded(product_filter) else ProductSort.CREATED_AT
    return plan_listing(product_filter, by)


def _price_range(product_filter: ProductFilter) -> bool:
    """Prices bound the listing, and nothing but a category with them: the price index's
    range is exactly the listing."""
    return product_filter == ProductFilter(
        category=product_filter.category,
        min_price=product_filter.min_price,
        max_price=product_filter.max_price,
    )


def object_id_of(key: str) -> ObjectId:
    return ObjectId(product_id_of(key))


def _price_bounded(product_filter: ProductFilter) -> bool:
    return product_filter.min_price is not None or product_filter.max_price is not None


def _aspects(product_filter: ProductFilter) -> tuple[str, ...]:
    return (CATALOG, STOCK) if product_filter.in_stock is not None else (CATALOG,)
