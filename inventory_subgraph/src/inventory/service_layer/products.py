"""Product use cases: read for anyone, write for admins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from inventory.adapters.ports import ProductRepository
from inventory.domain.errors import ProductNotFound
from inventory.domain.listing import ProductFilter, ProductSort, cursor_after, page_request
from inventory.domain.product import NewProduct, Product, ProductChanges, validate_stock_delta
from inventory.service_layer.auth import require_admin
from platform_kit.auth import Principal
from platform_kit.clock import Clock, utcnow
from platform_kit.errors import InvalidInput
from platform_kit.paging import Page

__all__ = ["Products"]


class Products:
    def __init__(self, repository: ProductRepository, clock: Clock = utcnow) -> None:
        self.repository = repository
        self.clock = clock

    async def get(self, product_id: str) -> Product | None:
        return await self.repository.get(product_id)

    async def get_many(
        self, product_ids: Iterable[str], *, deleted_too: bool = False
    ) -> dict[str, Product]:
        return await self.repository.get_many(product_ids, deleted_too=deleted_too)

    async def list(
        self,
        product_filter: ProductFilter,
        sort: ProductSort,
        *,
        limit: int | None,
        offset: int | None,
        cursor: str | None,
    ) -> Page[Product]:
        page = page_request(sort, limit=limit, offset=offset, cursor=cursor)
        found = await self.repository.list(product_filter, sort, page)
        return Page.of(
            found.items,
            found.total,
            page,
            lambda last, at: cursor_after(last, sort, at),
            found.resume_after,
        )

    async def create(self, principal: Principal | None, values: Mapping[str, Any]) -> Product:
        """`values` as the caller sent them: checked once the caller may write at all."""
        require_admin(principal)
        return await self.repository.add(NewProduct.create(**values), self.clock())

    async def import_many(self, principal: Principal | None, products: Iterable[NewProduct]) -> int:
        """A catalog in bulk (one write per batch, not one per product; read lazily, so it may
        be generated as it goes): how many were added; a product whose sku is taken is left
        out."""
        require_admin(principal)
        return await self.repository.add_many(products, self.clock())

    async def update(
        self,
        principal: Principal | None,
        product_id: str,
        values: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> Product:
        require_admin(principal)
        changes = ProductChanges.create(dict(values), expected_version)
        if not changes.values:
            raise InvalidInput("input", "give at least one field to change")
        product = await self.repository.update(product_id, changes, self.clock())
        if product is None:
            raise ProductNotFound(product_id)
        return product

    async def adjust_stock(
        self, principal: Principal | None, product_id: str, delta: Any
    ) -> Product:
        """Restock (or write off) relative to the stock as it is: no order's units are
        re-added or lost, however the change races them."""
        require_admin(principal)
        product = await self.repository.adjust_stock(
            product_id, validate_stock_delta(delta), self.clock()
        )
        if product is None:
            raise ProductNotFound(product_id)
        return product

    async def delete(self, principal: Principal | None, product_id: str) -> None:
        require_admin(principal)
        if not await self.repository.delete(product_id, self.clock()):
            raise ProductNotFound(product_id)
