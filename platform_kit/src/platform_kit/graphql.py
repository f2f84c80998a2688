"""GraphQL pieces both subgraphs share, so the composed schema sees one definition of each."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, NewType

import strawberry
from graphql import GraphQLError

from platform_kit.errors import ErrorCode

__all__ = ["Money", "format_money", "graphql_error", "parse_money"]

TWO_PLACES = Decimal("0.01")


def format_money(value: Decimal) -> str:
    """Two decimals, exact: Decimal("19.9") -> "19.90"."""
    return str(value.quantize(TWO_PLACES))


def parse_money(value: Any) -> Decimal:
    """A decimal string or a JSON number; never a boolean, never NaN or infinity.

    Numbers arrive as Python floats from JSON; their shortest repr is what the client wrote."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError('money must be a decimal string such as "19.99" or a number')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    return amount


if TYPE_CHECKING:
    Money = Decimal
else:
    Money = strawberry.scalar(
        NewType("Money", Decimal),
        name="Money",
        description='An exact amount of money: a decimal string with two decimals, e.g. "19.99".',
        serialize=format_money,
        parse_value=parse_money,
    )


def graphql_error(code: ErrorCode, message: str, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code.value, **extensions})
