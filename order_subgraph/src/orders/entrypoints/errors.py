"""The one place where failures become GraphQL error codes."""

from __future__ import annotations

from orders.domain.errors import (
    IdempotencyKeyReused,
    InventoryUnavailable,
    OrderNotFound,
    TooManyOpenOrders,
    TransitionNotAllowed,
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
        ErrorCode.BAD_USER_INPUT: (UnknownProducts, IdempotencyKeyReused, BadPosition),
        ErrorCode.INSUFFICIENT_STOCK: (InsufficientStock,),
        ErrorCode.NOT_FOUND: (OrderNotFound,),
        ErrorCode.CONFLICT: (TransitionNotAllowed, TooManyOpenOrders),
        ErrorCode.SERVICE_UNAVAILABLE: (
            InventoryUnavailable,
            FeedUnavailable,
            SlowSubscriber,
            TooManySubscribers,
        ),
    },
    outages=DATABASE_UNAVAILABLE,
    outage_message="the orders database is unavailable",
)

TranslateErrors = error_translation(classify)
