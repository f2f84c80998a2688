"""GraphQL errors as REST problems: the status by the code; what a client is told of a
failure on our side is in our own words, never another service's message."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.rest.problems import problem_from_errors


def _error(message: str, **extensions: Any) -> list[dict[str, Any]]:
    return [{"message": message, "path": ["createOrder"], "extensions": extensions}]


@pytest.mark.parametrize(
    "errors",
    [
        _error(
            "pymongo.errors.OperationFailure: db secret at 10.0.0.7", code="INTERNAL_SERVER_ERROR"
        ),
        _error("KeyError: 'price' in /srv/inventory/adapters.py", serviceName="inventory"),
        _error("upstream said: token=abc", code="SOMETHING_ELSE", stack=["frame"]),
        [{"message": "Traceback (most recent call last): ..."}],
    ],
)
def test_a_server_failure_is_told_in_our_words(errors: list[dict[str, Any]]) -> None:
    problem = problem_from_errors(errors)
    assert (problem.status, problem.code) == (500, "INTERNAL_SERVER_ERROR")
    assert problem.detail == "the request failed on our side"
    assert problem.extensions == {}


def test_an_unavailable_service_is_told_in_our_words() -> None:
    problem = problem_from_errors(
        _error("connection refused by 10.0.0.7:27017", code="SERVICE_UNAVAILABLE")
    )
    assert (problem.status, problem.code) == (503, "SERVICE_UNAVAILABLE")
    assert "10.0.0.7" not in problem.detail


def test_a_client_error_keeps_what_it_says_was_wrong() -> None:
    problem = problem_from_errors(
        _error("price: must be positive", code="BAD_USER_INPUT", field="unitPrice")
    )
    assert (problem.status, problem.detail) == (422, "price: must be positive")
    assert problem.extensions == {
        "errors": [{"field": "unit_price", "message": "price: must be positive"}]
    }
