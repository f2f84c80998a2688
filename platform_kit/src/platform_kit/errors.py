"""Failures as every service names them: the `extensions.code` of GraphQL errors and the HTTP
status each code becomes, the generic domain errors, and the one way a service turns any
failure into (code, message, details)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

__all__ = [
    "Classification",
    "Classifier",
    "DomainError",
    "ErrorCode",
    "Forbidden",
    "InvalidInput",
    "Unauthenticated",
    "classifier",
    "http_status",
]


class ErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


_HTTP_STATUS: Mapping[str, int] = {
    ErrorCode.BAD_USER_INPUT: 422,
    ErrorCode.GRAPHQL_VALIDATION_FAILED: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.CONFLICT: 409,
    ErrorCode.PRECONDITION_FAILED: 412,
    ErrorCode.INSUFFICIENT_STOCK: 409,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.RATE_LIMITED: 429,
}


def http_status(code: str) -> int:
    """The HTTP status of an error code; 500 for a code no API names."""
    return _HTTP_STATUS.get(code, 500)


class DomainError(Exception):
    """Base of every expected failure; the message is safe to show to the caller, and
    `details` (snake_case keys) says what else the caller may need."""

    details: Mapping[str, Any] = {}


class InvalidInput(DomainError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message
        self.details = {"field": field}


class Unauthenticated(DomainError):
    def __init__(self) -> None:
        super().__init__("authentication required: send Authorization: Bearer <token>")


class Forbidden(DomainError):
    """The caller is known but may not do this; the message says why."""


Classification = tuple[ErrorCode, str, dict[str, Any]]
Classifier = Callable[[BaseException], Classification]

Codes = Mapping[ErrorCode, tuple[type[DomainError], ...]]

_GENERIC: Codes = {
    ErrorCode.BAD_USER_INPUT: (InvalidInput,),
    ErrorCode.UNAUTHENTICATED: (Unauthenticated,),
    ErrorCode.FORBIDDEN: (Forbidden,),
}


def classifier(
    codes: Codes, *, outages: tuple[type[BaseException], ...], outage_message: str
) -> Classifier:
    """A service's one mapping of failures: a domain error gets the code of its nearest
    class in `codes` (or a generic error's; any other is BAD_USER_INPUT), its message and
    details; an outage (`outages`) is SERVICE_UNAVAILABLE; anything else is internal."""
    table: dict[type[DomainError], ErrorCode] = {}
    for given in (_GENERIC, codes):
        for code, kinds in given.items():
            table.update(dict.fromkeys(kinds, code))

    def classify(error: BaseException) -> Classification:
        if isinstance(error, DomainError):
            code = next(
                (table[kind] for kind in type(error).__mro__ if kind in table),
                ErrorCode.BAD_USER_INPUT,
            )
            return code, str(error), dict(error.details)
        if isinstance(error, outages):
            return ErrorCode.SERVICE_UNAVAILABLE, outage_message, {}
        return ErrorCode.INTERNAL_SERVER_ERROR, "internal server error", {}

    return classify
