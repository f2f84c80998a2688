"""The one place where failures become GraphQL codes and HTTP problems."""

from __future__ import annotations

from inventory.domain.errors import (
    DuplicateSku,
    ProductChanged,
    ProductNotFound,
    ReservationConflict,
    ReservationNotFound,
)
from platform_kit.errors import ErrorCode, classifier
from platform_kit.graphql import error_translation
from platform_kit.mongo import DATABASE_UNAVAILABLE
from platform_kit.stock import InsufficientStock, UnknownProducts

__all__ = ["TranslateErrors", "classify"]

classify = classifier(
    {
        ProductNotFound: ErrorCode.NOT_FOUND,
        ReservationNotFound: ErrorCode.NOT_FOUND,
        UnknownProducts: ErrorCode.NOT_FOUND,
        InsufficientStock: ErrorCode.INSUFFICIENT_STOCK,
        ProductChanged: ErrorCode.PRECONDITION_FAILED,
        DuplicateSku: ErrorCode.CONFLICT,
        ReservationConflict: ErrorCode.CONFLICT,
    },
    outages=DATABASE_UNAVAILABLE,
    outage_message="the inventory database is unavailable",
)

TranslateErrors = error_translation(classify)
