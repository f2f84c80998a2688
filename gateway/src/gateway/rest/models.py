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
    """Strict numbers (contract): a decimal string of ASCII digits, or a JSON number; not
    "1_0", other scripts' digits, padding or a boolean."""
    if isinstance(value, bool) or (isinstance(value, str) and not is_plain_decimal(value)):
        raise ValueError('must be a decimal number such as 19.99 or "19.99"')
    return value


def decimal_text(value: Decimal) -> str:
    """An amount as GraphQL's Money takes it: plain digits, never an exponent."""
    return format(value, "f")


# A money amount as the inventory accepts it (at most 10 whole digits and two decimals),
# refused by its digits before anything computes with it: "1e999999999" is two bytes of
# exponent and a billion digits once written out.
Amount = Annotated[
    Decimal,
    BeforeValidator(_plain_decimal),
    Field(max_digits=12, decimal_places=2, allow_inf_nan=False),
    PlainSerializer(decimal_text, when_used="json"),
]
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


Name = Annotated[str, Field(min_length=1, max_length=200, examples=["Cast iron teapot"])]


class ProductCreate(Strict):
    name: Name
    price: Amount = Field(
        gt=0, description='Positive, at most two decimals; "19.99" or 19.99', examples=["39.90"]
    )
    sku: str | None = Field(default=None, examples=["KIT-TEAPOT"])
    description: str | None = None
    category: str | None = Field(default=None, examples=["kitchen"])
    currency: str = Field(default="USD", examples=["USD"])
    stock: StrictInt = Field(default=0, examples=[25])


_NOT_CLEARABLE = ("name", "price", "currency", "stock")


def _not_nullable(schema: dict[str, Any]) -> None:
    """The document says what the inventory does: these fields may be left out, not
    cleared with null (None stays the "left out" default, so errors keep plain paths)."""
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
    price: Annotated[Amount, Field(gt=0)] | None = None
    sku: str | None = None
    description: str | None = None
    category: str | None = None
    currency: str | None = None
    stock: StrictInt | None = None


class StockAdjustment(Strict):
    delta: StrictInt = Field(
        description="Units to add (negative: to remove) to the stock as it is now",
        examples=[25],
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


class OrderLineCreate(Strict):
    product_id: str = Field(min_length=1, max_length=64)
    quantity: StrictInt = Field(ge=1, examples=[2])


class OrderCreate(Strict):
    items: list[OrderLineCreate]


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
