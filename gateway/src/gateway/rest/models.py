"""REST shapes (contract, "REST, served by the gateway"): inputs, outputs, problems. They
document the API in OpenAPI, check only the shape of HTTP input (the values' rules live in the
subgraphs) and check what the routes answer. Inputs become GraphQL variables and outputs are
read from GraphQL answers by one casing rule (platform_kit.casing): camelCase there,
snake_case here."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    WithJsonSchema,
)

from platform_kit.casing import camel_keys, to_camel
from platform_kit.money import is_plain_decimal

__all__ = [
    "OrderCreate",
    "OrderPublic",
    "OrderStatusUpdate",
    "Page",
    "Problem",
    "ProductCreate",
    "ProductPublic",
    "ProductSortParam",
    "ProductUpdate",
]

T = TypeVar("T")


def _plain_decimal(value: Any) -> Any:
    """Strict numbers (contract): a decimal string of ASCII digits and a point, or a JSON
    number; not a sign, an exponent, "1_0", other scripts' digits, padding or a boolean."""
    if isinstance(value, bool) or (isinstance(value, str) and not is_plain_decimal(value)):
        raise ValueError('must be a decimal number such as 19.99 or "19.99"')
    return value


def decimal_text(value: Decimal) -> str:
    """An amount as GraphQL's Money takes it: plain digits, never an exponent."""
    return format(value, "f")


# What the inventory takes as a price, as the document tells it: a positive amount up to
# MAX_PRICE with at most two decimals, as text ("19.99") or as a JSON number. The numbers
# documented are the whole ones: a generated 0.57 is 0.5700000000000001 once a binary float,
# refused for its decimals, while the API takes a client's 19.99 as written.
MAX_PRICE = 1_000_000_000
POSITIVE_AMOUNT_PATTERN = (
    r"^([1-9][0-9]{0,8}(\.[0-9]{1,2})?|0\.([1-9][0-9]?|0[1-9])|1000000000(\.00?)?)$"
)
AMOUNT_PATTERN = r"^([0-9]{1,9}(\.[0-9]{1,2})?|1000000000(\.00?)?)$"
_PRICE_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": POSITIVE_AMOUNT_PATTERN},
        {"type": "integer", "minimum": 1, "maximum": MAX_PRICE},
    ],
    "description": f'Positive, at most two decimals, at most {MAX_PRICE}: "19.99" (or 19.99)',
    "examples": ["39.90"],
}

# A money amount as the inventory accepts it (at most 10 whole digits and two decimals),
# refused by its digits before anything computes with it: "1e999999999" is two bytes of
# exponent and a billion digits once written out.
Amount = Annotated[
    Decimal,
    BeforeValidator(_plain_decimal),
    Field(max_digits=12, decimal_places=2, allow_inf_nan=False),
    PlainSerializer(decimal_text, when_used="json"),
]
Price = Annotated[Amount, Field(gt=0), WithJsonSchema(_PRICE_SCHEMA)]
# A time as the subgraphs write it (ISO 8601), passed on unchanged.
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


class Strict(BaseModel):
    """A request body: unknown fields refused."""

    model_config = ConfigDict(extra="forbid")

    def graphql(self) -> dict[str, Any]:
        """The fields given, as a GraphQL input: camelCase, amounts as decimal strings."""
        values: dict[str, Any] = camel_keys(self.model_dump(mode="json", exclude_unset=True))
        return values


class FromGraphQL(BaseModel):
    """An answer: read from a GraphQL answer (camelCase), written in snake_case."""

    model_config = ConfigDict(alias_generator=AliasGenerator(validation_alias=to_camel))


# The inventory's rules for each field (inventory/domain/product.py), so that what the
# document calls valid is what the API takes
MAX_STOCK = 1_000_000_000
# Python's str.strip() and isspace() take \x1c-\x1f for spaces; \s of other regex engines
# (the document's readers, pydantic's) does not
_VISIBLE = r"[^\s\x1c-\x1f]"
Name = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=_VISIBLE, examples=["Cast iron teapot"]),
]
Sku = Annotated[str, Field(max_length=64, pattern=rf"^{_VISIBLE}*$", examples=["KIT-TEAPOT"])]
Description = Annotated[str, Field(max_length=5000)]
Category = Annotated[str, Field(max_length=100, examples=["kitchen"])]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]
Stock = Annotated[StrictInt, Field(ge=0, le=MAX_STOCK, examples=[25])]


class ProductCreate(Strict):
    name: Name
    price: Price
    sku: Sku | None = None
    description: Description | None = None
    category: Category | None = None
    currency: Currency = "USD"
    stock: Stock = 0


_NOT_CLEARABLE = ("name", "price", "currency", "stock")


def _not_nullable(schema: dict[str, Any]) -> None:
    """The document says what the inventory does: these fields may be left out, not
    cleared with null (None stays the "left out" default, so errors keep plain paths), and
    an update names at least one field (`{}` is a 422)."""
    schema["minProperties"] = 1
    for name in _NOT_CLEARABLE:
        field = schema["properties"][name]
        choices = [c for c in field.pop("anyOf", []) if c.get("type") != "null"]
        if choices:
            field.update(choices[0])
        field.pop("default", None)


class ProductUpdate(Strict):
    """Partial: fields left out are unchanged; optional text (sku, description, category)
    may be cleared with null, the other fields may not."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_not_nullable)

    name: Name | None = None
    price: Price | None = None
    sku: Sku | None = None
    description: Description | None = None
    category: Category | None = None
    currency: Currency | None = None
    stock: Stock | None = None


def _not_zero(value: int) -> int:
    if value == 0:
        raise ValueError("must not be 0")
    return value


class StockAdjustment(Strict):
    delta: Annotated[StrictInt, AfterValidator(_not_zero)] = Field(
        ge=-MAX_STOCK,
        le=MAX_STOCK,
        description="Units to add (negative: to remove) to the stock as it is now; not 0",
        examples=[25],
        json_schema_extra={"not": {"const": 0}},
    )


class ProductPublic(FromGraphQL):
    id: str
    sku: str | None
    name: str
    description: str | None
    category: str | None
    price: str = Field(examples=["19.99"])
    currency: str
    stock: int
    created_at: Timestamp
    updated_at: Timestamp


# as the order subgraph takes them (orders/domain/order.py)
MAX_LINES = 100
MAX_QUANTITY = 10_000


class OrderLineCreate(Strict):
    product_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="A product's id (an unknown one is a 422)",
        examples=["6650f2d3c1a4b5e6f7a8b9c0"],
    )
    quantity: StrictInt = Field(
        ge=1, le=MAX_QUANTITY, description="Per product, lines merged", examples=[2]
    )


class OrderCreate(Strict):
    items: list[OrderLineCreate] = Field(min_length=1, max_length=MAX_LINES)


class OrderItemPublic(FromGraphQL):
    product_id: str
    name: str
    unit_price: str
    quantity: int
    line_total: str


class OrderPublic(FromGraphQL):
    id: str
    user_id: str
    status: Annotated[Literal["pending", "completed", "cancelled"], BeforeValidator(str.lower)]
    items: list[OrderItemPublic]
    total: str = Field(examples=["39.98"])
    currency: str
    created_at: Timestamp
    updated_at: Timestamp


class OrderStatusUpdate(Strict):
    status: Literal["completed", "cancelled"]


class Page(FromGraphQL, Generic[T]):
    items: list[T]
    total: int = Field(description="Exact up to 10,000; beyond, at least this many")
    total_precision: Literal["exact", "at_least"]
    limit: int
    offset: int
    next_cursor: str | None


class ProductSortParam(StrEnum):
    NAME = "name"
    NAME_DESC = "-name"
    PRICE = "price"
    PRICE_DESC = "-price"
    CREATED_AT = "created_at"
    CREATED_AT_DESC = "-created_at"

    def to_graphql(self) -> str:
        """-price -> PRICE_DESC"""
        key = self.value.removeprefix("-").upper()
        return f"{key}_DESC" if self.value.startswith("-") else key


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str | None = None
    errors: list[dict[str, Any]] | None = None
    shortages: list[dict[str, Any]] | None = None
