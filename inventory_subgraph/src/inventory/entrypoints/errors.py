"""The one place where failures become GraphQL codes and HTTP problems."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError
from strawberry.extensions import SchemaExtension

from inventory.domain.errors import (
    DomainError,
    DuplicateSku,
    Forbidden,
    InsufficientStock,
    InvalidInput,
    ProductNotFound,
    ReservationConflict,
    ReservationNotFound,
    Unauthenticated,
    UnknownProducts,
)
from platform_kit.errors import ErrorCode

__all__ = ["HTTP_STATUS", "TranslateErrors", "classify"]

log = logging.getLogger(__name__)

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


class TranslateErrors(SchemaExtension):
    """Gives every GraphQL error an `extensions.code`; hides unexpected internals."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self._translate(error) for error in result.errors]

    @staticmethod
    def _translate(error: GraphQLError) -> GraphQLError:
        if error.extensions and "code" in error.extensions:
            return error
        original = error.original_error
        extra: dict[str, Any] = {}
        if original is None or error.path is None:  # the request itself: syntax, validation,
            # variable coercion (a resolver's error always has a path)
            code, message = ErrorCode.BAD_USER_INPUT, error.message
        else:
            code, message, extra = classify(original)
            if code is ErrorCode.INTERNAL_SERVER_ERROR:
                log.error("unexpected error in resolver", exc_info=original)
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=original,
            extensions={**(error.extensions or {}), "code": code.value, **extra},
        )
