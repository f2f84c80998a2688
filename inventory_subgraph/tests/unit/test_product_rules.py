"""Product validation rules, pure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.domain.product import NewProduct, ProductChanges
from platform_kit.errors import InvalidInput


def test_a_valid_product_is_normalised() -> None:
    product = NewProduct.create(name="  Mug ", price=Decimal("12.5"), sku="MUG-1")
    assert product.name == "Mug"
    assert str(product.price) == "12.50"
    assert product.currency == "USD" and product.stock == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"price": Decimal("0")}, "price"),
        ({"price": Decimal("-1")}, "price"),
        ({"price": Decimal("1.999")}, "price"),
        ({"price": Decimal("NaN")}, "price"),
        ({"price": Decimal("1e26")}, "price"),  # once a 500: rounding overflowed
        ({"price": Decimal("1e999999999")}, "price"),  # a billion digits if written out
        ({"price": Decimal("1" * 38)}, "price"),
        ({"stock": -1}, "stock"),
        ({"stock": 1.5}, "stock"),
        ({"stock": True}, "stock"),
        ({"currency": "usd"}, "currency"),
        ({"sku": "has space"}, "sku"),
    ],
)
def test_invalid_fields_are_named(fields: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"name": "Mug", "price": Decimal("1.00"), **fields}
    with pytest.raises(InvalidInput) as raised:
        NewProduct.create(**values)  # type: ignore[arg-type]
    assert raised.value.field == field


@pytest.mark.parametrize(
    "price",
    [
        "+5",
        "1e1",
        "-1",
        "\u0661\u0662",
        "1_0",
        " 5",
        "5 ",
        "",
        ".5",
        "5.",
        "0x10",
        5e-324,
        True,
        None,
    ],
)
def test_a_price_is_plain_ascii_digits_or_a_number(price: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        NewProduct.create(name="Mug", price=price)
    assert raised.value.field == "price"


@pytest.mark.parametrize(("price", "stored"), [("19.99", "19.99"), ("5", "5.00"), (19.9, "19.90")])
def test_a_price_as_text_or_number_is_exact(price: object, stored: str) -> None:
    assert str(NewProduct.create(name="Mug", price=price).price) == stored


def test_two_hundred_characters_is_a_valid_name() -> None:
    assert len(NewProduct.create(name="x" * 200, price=Decimal("1")).name) == 200


def test_trailing_zeros_beyond_two_decimals_are_exact_and_allowed() -> None:
    assert str(NewProduct.create(name="a", price=Decimal("1.500")).price) == "1.50"


def test_a_partial_change_may_clear_optional_text_but_not_required_fields() -> None:
    assert ProductChanges.create({"description": None}).values == {"description": None}
    with pytest.raises(InvalidInput) as raised:
        ProductChanges.create({"name": None})
    assert raised.value.field == "name"


def test_a_change_is_validated_like_a_new_product() -> None:
    with pytest.raises(InvalidInput):
        ProductChanges.create({"price": Decimal("0.001")})
