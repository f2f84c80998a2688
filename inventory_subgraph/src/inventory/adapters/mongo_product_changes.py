"""Adapter: the products collection's change events as products (a deletion is a change:
the product as it was deleted)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inventory.adapters.mongo_products import to_product
from inventory.domain.product import Product

__all__ = ["product_change"]


def product_change(event: Mapping[str, Any]) -> Product | None:
    document = event.get("fullDocument")
    if event.get("operationType") not in ("insert", "replace", "update"):
        return None
    if not isinstance(document, Mapping) or "name" not in document:
        return None  # gone since (fullDocument looked up after a later write), or not a product
    return to_product(dict(document))
