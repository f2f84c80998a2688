"""The product and the rules its fields obey (contract: Product)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from platform_kit.errors import InvalidInput
from platform_kit.money import parse_money

__all__ = [
    "MAX_NAME_LENGTH",
    "NewProduct",
    "Product",
    "ProductChanges",
    "validate_amount",
    "validate_price",
    "validate_stock_delta",
]

MAX_NAME_LENGTH = 200
MAX_SKU_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 5000
MAX_CATEGORY_LENGTH = 100
MAX_STOCK = 1_000_000_000
MAX_PRICE = Decimal("1000000000")
CENTS = Decimal("0.01")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    sku: str | None
    name: str
    description: str | None
    category: str | None
    price: Decimal
    currency: str
    stock: int
    created_at: datetime
    updated_at: datetime
    # grows with every change, stock moves by orders included: a client that read version N
    # may change the product only while it still is at N (HTTP If-Match)
    version: int = 0


def validate_name(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput("name", "must be a string")
    name = value.strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise InvalidInput("name", f"must be 1 to {MAX_NAME_LENGTH} characters")
    return name


def validate_amount(field: str, value: Any) -> Decimal:
    """A money amount (a decimal string or a number, platform_kit.money) from 0 to MAX_PRICE
    with at most two decimals. Compared before any rounding: a Decimal compares by its
    exponent in constant time, while rounding 1e26 overflows the context and writing out
    1e999999999 takes a billion digits."""
    try:
        amount = parse_money(value)
    except ValueError as error:
        raise InvalidInput(field, str(error)) from None
    if amount < 0:
        raise InvalidInput(field, "must not be negative")
    if amount > MAX_PRICE:
        raise InvalidInput(field, f"must be at most {MAX_PRICE}")
    if amount != amount.quantize(CENTS):
        raise InvalidInput(field, "must have at most two decimals")
    return amount.quantize(CENTS)


def validate_price(value: Any) -> Decimal:
    amount = validate_amount("price", value)
    if amount == 0:
        raise InvalidInput("price", "must be a positive amount")
    return amount


def validate_stock(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("stock", "must be a whole number")
    if not 0 <= value <= MAX_STOCK:
        raise InvalidInput("stock", f"must be between 0 and {MAX_STOCK}")
    return int(value)


def validate_stock_delta(value: Any) -> int:
    """A relative stock change: a whole number, not zero, within the stock's range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("delta", "must be a whole number")
    if value == 0 or abs(value) > MAX_STOCK:
        raise InvalidInput("delta", f"must be between -{MAX_STOCK} and {MAX_STOCK}, not 0")
    return int(value)


def validate_currency(value: Any) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise InvalidInput("currency", "must be a three-letter upper-case ISO 4217 code")
    return value


def _optional_text(field_name: str, value: Any, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(field_name, "must be a string")
    text = value.strip()
    if len(text) > max_length:
        raise InvalidInput(field_name, f"must be at most {max_length} characters")
    return text or None


def validate_sku(value: Any) -> str | None:
    sku = _optional_text("sku", value, MAX_SKU_LENGTH)
    if sku is not None and any(c.isspace() for c in sku):
        raise InvalidInput("sku", "must not contain spaces")
    return sku


@dataclass(frozen=True, slots=True)
class NewProduct:
    """A validated product to create."""

    name: str
    price: Decimal
    sku: str | None = None
    description: str | None = None
    category: str | None = None
    currency: str = "USD"
    stock: int = 0

    @classmethod
    def create(
        cls,
        *,
        name: Any,
        price: Any,
        sku: Any = None,
        description: Any = None,
        category: Any = None,
        currency: Any = "USD",
        stock: Any = 0,
    ) -> NewProduct:
        return cls(
            name=validate_name(name),
            price=validate_price(price),
            sku=validate_sku(sku),
            description=_optional_text("description", description, MAX_DESCRIPTION_LENGTH),
            category=_optional_text("category", category, MAX_CATEGORY_LENGTH),
            currency=validate_currency(currency),
            stock=validate_stock(stock),
        )


_VALIDATORS = {
    "name": validate_name,
    "price": validate_price,
    "sku": validate_sku,
    "description": lambda v: _optional_text("description", v, MAX_DESCRIPTION_LENGTH),
    "category": lambda v: _optional_text("category", v, MAX_CATEGORY_LENGTH),
    "currency": validate_currency,
    "stock": validate_stock,
}
_REQUIRED = frozenset({"name", "price", "currency", "stock"})


@dataclass(frozen=True, slots=True)
class ProductChanges:
    """A validated partial update: only the fields present change; optional text fields may
    be cleared with null, required ones may not. With `expected_version`, only a product
    still at that version changes (else ProductChanged), so an edit made from a stale read
    loses nothing."""

    values: dict[str, Any] = field(default_factory=dict)
    expected_version: int | None = None

    @classmethod
    def create(cls, changes: dict[str, Any], expected_version: int | None = None) -> ProductChanges:
        validated: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in _VALIDATORS:
                raise InvalidInput(name, "is not a product field")
            if value is None and name in _REQUIRED:
                raise InvalidInput(name, "cannot be null")
            validated[name] = _VALIDATORS[name](value)
        return cls(validated, expected_version)
