"""The inventory subgraph's app: `uvicorn inventory.entrypoints.app:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse

from inventory.bootstrap import bootstrap
from inventory.entrypoints.errors import classify
from inventory.entrypoints.graphql.context import InventoryContext
from inventory.entrypoints.graphql.schema import schema
from inventory.entrypoints.reservations_http import router as reservations_router
from inventory.settings import InventorySettings
from platform_kit.errors import DomainError
from platform_kit.graphql import subgraph_app
from platform_kit.mongo import DATABASE_UNAVAILABLE
from platform_kit.problems import classified_problem, problem_response

__all__ = ["create_app"]


def create_app(settings: InventorySettings | None = None) -> FastAPI:
    settings = settings or InventorySettings()
    app = subgraph_app(
        title="Inventory subgraph",
        service="inventory",
        settings=settings,
        schema=schema,
        bootstrap=lambda: bootstrap(settings),
        context=InventoryContext,
        routers=[reservations_router],
    )
    failures: tuple[type[Exception], ...] = (DomainError, *DATABASE_UNAVAILABLE)
    for failure in failures:
        app.add_exception_handler(failure, _problem)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return problem_response(
            422,
            "the request body is invalid",
            code="BAD_USER_INPUT",
            errors=[
                {"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in error.errors()
            ],
        )

    return app


async def _problem(_: Request, error: Exception) -> JSONResponse:
    return classified_problem(classify(error))
