"""The one place where failures become GraphQL codes and HTTP problems."""

from __future__ import annotations

from inventory.domain.errors import (
    DuplicateSku,
    ProductChanged,
    ProductNotFound,
    ReservationConflict,
    ReservationNotFound,
)
from platform_kit.change_feed import (
    BadPosition,
    FeedUnavailable,
    SlowSubscriber,
    TooManySubscribers,
)
from platform_kit.errors import ErrorCode, classifier
from platform_kit.graphql import error_translation
from platform_kit.mongo import DATABASE_UNAVAILABLE
from platform_kit.stock import InsufficientStock, UnknownProducts

__all__ = ["TranslateErrors", "classify"]

classify = classifier(
    {
        ErrorCode.BAD_USER_INPUT: (BadPosition,),
        ErrorCode.NOT_FOUND: (ProductNotFound, ReservationNotFound, UnknownProducts),
        ErrorCode.INSUFFICIENT_STOCK: (InsufficientStock,),
        ErrorCode.PRECONDITION_FAILED: (ProductChanged,),
        ErrorCode.CONFLICT: (DuplicateSku, ReservationConflict),
        ErrorCode.SERVICE_UNAVAILABLE: (FeedUnavailable, SlowSubscriber, TooManySubscribers),
    },
    outages=DATABASE_UNAVAILABLE,
    outage_message="the inventory database is unavailable",
)

TranslateErrors = error_translation(classify)
