"""One mapping of failures per service, one casing rule, one status per code."""

from __future__ import annotations

from platform_kit.casing import camel_keys, snake_keys
from platform_kit.errors import (
    DomainError,
    ErrorCode,
    Forbidden,
    InvalidInput,
    classifier,
    http_status,
)
from platform_kit.stock import InsufficientStock, Shortage


class Missing(DomainError):
    pass


class MissingThing(Missing):
    pass


class Outage(Exception):
    pass


classify = classifier(
    {ErrorCode.NOT_FOUND: (Missing,), ErrorCode.INSUFFICIENT_STOCK: (InsufficientStock,)},
    outages=(Outage,),
    outage_message="the store is away",
)


def test_a_domain_error_takes_the_code_of_its_nearest_class() -> None:
    assert classify(MissingThing("gone")) == (ErrorCode.NOT_FOUND, "gone", {})
    assert classify(Forbidden("no")) == (ErrorCode.FORBIDDEN, "no", {})
    assert classify(DomainError("odd")) == (ErrorCode.BAD_USER_INPUT, "odd", {})


def test_details_travel_in_snake_case() -> None:
    assert classify(InvalidInput("min_price", "too low"))[2] == {"field": "min_price"}
    shortage = Shortage("p1", 3, 1)
    code, _, details = classify(InsufficientStock([shortage]))
    assert code is ErrorCode.INSUFFICIENT_STOCK
    assert details == {"shortages": [{"product_id": "p1", "requested": 3, "available": 1}]}
    assert Shortage.from_dict(details["shortages"][0]) == shortage


def test_outages_and_bugs_say_nothing_of_their_insides() -> None:
    assert classify(Outage("socket 7")) == (ErrorCode.SERVICE_UNAVAILABLE, "the store is away", {})
    assert classify(KeyError("x")) == (ErrorCode.INTERNAL_SERVER_ERROR, "internal server error", {})


def test_one_casing_rule_both_ways() -> None:
    snake = {"unknown_products": ["a"], "shortages": [{"product_id": "p", "requested": 1}]}
    camel = {"unknownProducts": ["a"], "shortages": [{"productId": "p", "requested": 1}]}
    assert camel_keys(snake) == camel and snake_keys(camel) == snake


def test_every_code_has_its_status() -> None:
    assert http_status(ErrorCode.INSUFFICIENT_STOCK) == 409
    assert http_status(ErrorCode.PRECONDITION_FAILED) == 412
    assert http_status("SOMETHING_ELSE") == 500
