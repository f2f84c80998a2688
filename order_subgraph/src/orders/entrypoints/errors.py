"""The one place where failures become GraphQL error codes."""

from __future__ import annotations

from typing import Any

from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError

from orders.domain.errors import (
    DomainError,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidInput,
    InventoryUnavailable,
    OrderNotFound,
    TooManyOpenOrders,
    TransitionNotAllowed,
    Unauthenticated,
    UnknownProducts,
)
from platform_kit.errors import ErrorCode
from platform_kit.graphql import error_translation

__all__ = ["DATABASE_UNAVAILABLE", "TranslateErrors", "classify"]

DATABASE_UNAVAILABLE = (ConnectionFailure, ExecutionTimeout, WTimeoutError)


def classify(error: BaseException) -> tuple[ErrorCode, str, dict[str, Any]]:
    if isinstance(error, InvalidInput):
        return ErrorCode.BAD_USER_INPUT, str(error), {"field": error.field}
    if isinstance(error, UnknownProducts):
        return ErrorCode.BAD_USER_INPUT, str(error), {"unknownProducts": error.product_ids}
    if isinstance(error, IdempotencyKeyReused):
        return ErrorCode.BAD_USER_INPUT, str(error), {"field": "idempotencyKey"}
    if isinstance(error, InsufficientStock):
        return (
            ErrorCode.INSUFFICIENT_STOCK,
            str(error),
            {
                "shortages": [
                    {"productId": s.product_id, "requested": s.requested, "available": s.available}
                    for s in error.shortages
                ]
            },
        )
    if isinstance(error, OrderNotFound):
        return ErrorCode.NOT_FOUND, str(error), {}
    if isinstance(error, TransitionNotAllowed | TooManyOpenOrders):
        return ErrorCode.CONFLICT, str(error), {}
    if isinstance(error, Unauthenticated):
        return ErrorCode.UNAUTHENTICATED, str(error), {}
    if isinstance(error, Forbidden):
        return ErrorCode.FORBIDDEN, str(error), {}
    if isinstance(error, InventoryUnavailable):
        return ErrorCode.SERVICE_UNAVAILABLE, str(error), {}
    if isinstance(error, DomainError):
        return ErrorCode.BAD_USER_INPUT, str(error), {}
    if isinstance(error, DATABASE_UNAVAILABLE):
        return ErrorCode.SERVICE_UNAVAILABLE, "the orders database is unavailable", {}
    return ErrorCode.INTERNAL_SERVER_ERROR, "internal server error", {}


TranslateErrors = error_translation(classify)
