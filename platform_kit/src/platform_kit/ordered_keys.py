"""Sort keys stored as one string per document and listing, so that a listing's order is one
index on one field, and a page is a bounded range of it (platform_kit.keyset_walk).

A key is the escaped text of each part joined by SEP, the document's id last: comparing two
keys as strings (as MongoDB compares strings, by their UTF-8 bytes, and as Python compares
code points: the same order) compares the tuples of their parts. Escaping NUL as NUL 0x01
and joining by NUL NUL keeps that true whatever the parts hold: a part that is a prefix of
another ends first (NUL NUL is below any escaped character).

A scope (a category, a customer) is the leading part: all keys of one scope lie between
`scope_start(scope)` and `scope_end(scope)`, the scope's listing one range of the same index.

Fences sample the documents: a document's tier is drawn once, at creation, with P(tier >= 1)
= 1/32, P(tier >= 2) = 1/1024, P(tier = 3) = 1/32768, and documents of tier >= 1 carry their
key again, tier first, in a sparse field. Between two fences of one tier lie about 32 fences
of the tier below, and between two tier-1 fences about 32 documents: a skip list kept by the
index itself, with nothing to rebalance, whatever the data and the order in which it came.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal

__all__ = [
    "FENCE_SPACING_BITS",
    "SEP",
    "TOP_TIER",
    "decimal_part",
    "draw_tier",
    "fence_value",
    "join",
    "scope_end",
    "scope_start",
    "text_part",
    "time_part",
]

SEP = "\x00\x00"
_ESCAPED_NUL = "\x00\x01"
TOP_TIER = 3
FENCE_SPACING_BITS = 5  # 32 documents between fences of one tier, 32 fences between tiers
_DECIMAL_DIGITS = 20  # a whole-number part of up to 18 digits, and two decimals


def text_part(text: str) -> str:
    return text.replace("\x00", _ESCAPED_NUL)


def decimal_part(amount: Decimal) -> str:
    """A non-negative amount of at most two decimals, as fixed-width digits."""
    cents = int(amount.scaleb(2).to_integral_exact())
    if cents < 0:
        raise ValueError("amounts in keys are not negative")
    return f"{cents:0{_DECIMAL_DIGITS}d}"


def time_part(moment: datetime) -> str:
    """To the millisecond, as MongoDB stores times, in UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def join(*parts: str) -> str:
    """Parts already made by text_part, decimal_part or time_part (or hex ids)."""
    return SEP.join(parts)


def scope_start(scope: str) -> str:
    """Every key of `scope` is greater than this (exclusive lower bound)."""
    return text_part(scope) + SEP


def scope_end(scope: str) -> str:
    """Every key of `scope` is less than this (exclusive upper bound)."""
    return text_part(scope) + _ESCAPED_NUL


def draw_tier(bits: int | None = None) -> int:
    """A document's fence tier: 0 for 31 documents in 32."""
    value = secrets.randbits(FENCE_SPACING_BITS * TOP_TIER) if bits is None else bits
    tier = 0
    mask = (1 << FENCE_SPACING_BITS) - 1
    while tier < TOP_TIER and value & mask == 0:
        tier += 1
        value >>= FENCE_SPACING_BITS
    return tier


def fence_value(tier: int, key: str) -> str:
    return f"{tier}\x00{key}"
