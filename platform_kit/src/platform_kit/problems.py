"""RFC 9457 problem details, the shape of every HTTP error the platform returns."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse

from platform_kit.errors import Classification, http_status

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "classified_problem",
    "problem",
    "problem_response",
    "problem_slug",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://errors.orders-inventory.dev/"


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (slug or phrase.lower().replace(" ", "-")),
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    body.update(extensions)
    return body


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    return JSONResponse(
        problem(status, detail, slug=slug, title=title, **extensions),
        status_code=status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def problem_slug(code: str) -> str:
    """The problem type named by an error code: INSUFFICIENT_STOCK -> insufficient-stock."""
    return code.lower().replace("_", "-")


def classified_problem(classification: Classification) -> JSONResponse:
    """A classified failure (`errors.classifier`) as an HTTP problem: the code's status and
    type, the message as detail, the details (snake_case) as extensions."""
    code, message, details = classification
    return problem_response(
        http_status(code), message, slug=problem_slug(code), code=code.value, **details
    )
