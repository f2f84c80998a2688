"""Money as every API writes it: an exact decimal string with two decimals ("19.99").
Plain Python, so REST models, GraphQL scalars and HTTP handlers share one rule."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "DECIMAL_TEXT_PATTERN",
    "TWO_PLACES",
    "format_money",
    "is_plain_decimal",
    "parse_money",
]

TWO_PLACES = Decimal("0.01")
# An amount as text: ASCII digits and at most one point, as "19.99" or "5"; bounded, so no
# text is long enough to cost anything to read (the amounts' own bounds come after).
DECIMAL_TEXT_PATTERN = r"^[0-9]{1,20}(\.[0-9]{1,20})?$"
_PLAIN_DECIMAL = re.compile(DECIMAL_TEXT_PATTERN, re.ASCII)


def is_plain_decimal(text: str) -> bool:
    """ASCII digits and a point: not a sign, an exponent, "1_0", other scripts' digits or
    padding, all of which Python's Decimal would also take."""
    return _PLAIN_DECIMAL.fullmatch(text) is not None


def format_money(value: Decimal) -> str:
    """Two decimals, exact: Decimal("19.9") -> "19.90"."""
    return str(value.quantize(TWO_PLACES))


def parse_money(value: Any) -> Decimal:
    """A decimal string or a JSON number; never a boolean, never NaN or infinity.

    Numbers arrive as Python floats from JSON; their shortest repr is what the client wrote."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError('money must be a decimal string such as "19.99" or a number')
    if isinstance(value, str) and not is_plain_decimal(value):
        raise ValueError(f"{value[:40]!r} is not a decimal amount such as 19.99")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    return amount
