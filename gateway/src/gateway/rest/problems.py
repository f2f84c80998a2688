"""GraphQL error codes become HTTP statuses and RFC 9457 problems, in this one place."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import Match

from platform_kit.casing import snake_keys, to_snake
from platform_kit.errors import DomainError, ErrorCode, classifier, http_status
from platform_kit.problems import classified_problem, problem_response, problem_slug

__all__ = ["RestProblem", "install_problem_handlers", "problem_from_errors"]

BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class RestProblem(Exception):
    def __init__(
        self,
        status: int,
        detail: str,
        code: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.headers = headers or {}
        self.extensions = extensions


# What a client is told of a failure on our side, in our words: another service's message
# (an exception's text, a database's) is for our logs, never for a client.
_SERVER_FAILURES: dict[str, str] = {
    ErrorCode.SERVICE_UNAVAILABLE: "a service is unavailable; try again shortly",
}
_INTERNAL = "the request failed on our side"


def problem_from_errors(errors: list[dict[str, Any]]) -> RestProblem:
    """The first error decides the status; its extensions travel in snake_case. A client
    error keeps the message that says what was wrong with the request (our subgraphs' domain
    errors); a server failure, or a code no API of ours names, is told in our own words."""
    first = errors[0]
    extensions = dict(first.get("extensions") or {})
    code = str(extensions.pop("code", ErrorCode.INTERNAL_SERVER_ERROR))
    extensions.pop("serviceName", None)
    status = http_status(code)
    if status >= 500:
        if code not in _SERVER_FAILURES:
            return RestProblem(500, _INTERNAL, ErrorCode.INTERNAL_SERVER_ERROR)
        return RestProblem(status, _SERVER_FAILURES[code], code, **snake_keys(extensions))
    detail = str(first.get("message", "request failed"))
    extra: dict[str, Any] = {}
    if "field" in extensions:
        extra["errors"] = [{"field": to_snake(str(extensions.pop("field"))), "message": detail}]
    extra.update(snake_keys(extensions))
    return RestProblem(status, detail, code, **extra)


def _response(problem: RestProblem) -> JSONResponse:
    headers = {**problem.headers, **(BEARER_CHALLENGE if problem.status == 401 else {})}
    return problem_response(
        problem.status,
        problem.detail,
        slug=problem_slug(problem.code or "error"),
        headers=headers or None,
        code=problem.code,
        **problem.extensions,
    )


# the gateway's own failures (a service token where a client's belongs)
_classify = classifier({}, outages=(), outage_message="")


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(RestProblem)
    async def rest_problem(_: Request, problem: RestProblem) -> JSONResponse:
        return _response(problem)

    @app.exception_handler(DomainError)
    async def refused(_: Request, error: DomainError) -> JSONResponse:
        return classified_problem(_classify(error))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        issues = error.errors()
        if any(issue.get("type") == "json_invalid" for issue in issues):
            return _response(RestProblem(400, "the body is not valid JSON", "BAD_REQUEST"))
        fields = [
            {
                "field": ".".join(str(p) for p in issue["loc"][1:]) or str(issue["loc"][0]),
                "message": issue["msg"],
            }
            for issue in issues
        ]
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        return _response(RestProblem(422, detail, "BAD_USER_INPUT", errors=fields))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        response = _response(RestProblem(error.status_code, str(error.detail)))
        response.headers.update(error.headers or {})
        if error.status_code == 405:
            response.headers["Allow"] = ", ".join(_allowed_methods(request))
        return response


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette names only the first route's);
    routes of included routers are looked at through the router that includes them."""
    methods: set[str] = set()
    pending = list(request.app.router.routes)
    while pending:
        route = pending.pop()
        match, _ = route.matches(request.scope)
        if match is Match.NONE:
            continue
        included = getattr(route, "original_router", None)
        if included is not None:
            pending += included.routes
        methods |= getattr(route, "methods", None) or set()
    return sorted(methods)
