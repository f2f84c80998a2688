"""The one place where failures become GraphQL codes and HTTP problems."""

from __future__ import annotations

from typing import Any

from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError

from inventory.domain.errors import (
    DomainError,
    DuplicateSku,
    Forbidden,
    InsufficientStock,
    InvalidInput,
    ProductChanged,
    ProductNotFound,
    ReservationConflict,
    ReservationNotFound,
    Unauthenticated,
    UnknownProducts,
)
from platform_kit.errors import ErrorCode
from platform_kit.graphql import error_translation

__all__ = ["HTTP_STATUS", "TranslateErrors", "classify"]


DATABASE_UNAVAILABLE = (ConnectionFailure, ExecutionTimeout, WTimeoutError)

HTTP_STATUS = {
    ErrorCode.BAD_USER_INPUT: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.CONFLICT: 409,
    ErrorCode.INSUFFICIENT_STOCK: 409,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_SERVER_ERROR: 500,
}


def classify(error: BaseException) -> tuple[ErrorCode, str, dict[str, Any]]:
    """(code, message safe for the caller, extra extensions) of any failure."""
    if isinstance(error, InvalidInput):
        return ErrorCode.BAD_USER_INPUT, str(error), {"field": error.field}
    if isinstance(error, ProductNotFound | ReservationNotFound):
        return ErrorCode.NOT_FOUND, str(error), {}
    if isinstance(error, UnknownProducts):
        return ErrorCode.NOT_FOUND, str(error), {"unknownProducts": error.product_ids}
    if isinstance(error, InsufficientStock):
        shortages = [
            {"productId": s.product_id, "requested": s.requested, "available": s.available}
            for s in error.shortages
        ]
        return ErrorCode.INSUFFICIENT_STOCK, str(error), {"shortages": shortages}
    if isinstance(error, ProductChanged):
        return ErrorCode.PRECONDITION_FAILED, str(error), {}
    if isinstance(error, DuplicateSku):
        return ErrorCode.CONFLICT, str(error), {"field": "sku"}
    if isinstance(error, ReservationConflict):
        return ErrorCode.CONFLICT, str(error), {}
    if isinstance(error, Unauthenticated):
        return ErrorCode.UNAUTHENTICATED, str(error), {}
    if isinstance(error, Forbidden):
        return ErrorCode.FORBIDDEN, str(error), {}
    if isinstance(error, DomainError):
        return ErrorCode.BAD_USER_INPUT, str(error), {}
    if isinstance(error, DATABASE_UNAVAILABLE):
        return ErrorCode.SERVICE_UNAVAILABLE, "the inventory database is unavailable", {}
    return ErrorCode.INTERNAL_SERVER_ERROR, "internal server error", {}


TranslateErrors = error_translation(classify)
