"""The inventory subgraph's app: `uvicorn inventory.entrypoints.app:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse
from strawberry.fastapi import GraphQLRouter

from inventory.bootstrap import bootstrap
from inventory.entrypoints.errors import classify
from inventory.entrypoints.graphql.context import InventoryContext
from inventory.entrypoints.graphql.schema import schema
from inventory.entrypoints.reservations_http import reservations_router
from inventory.settings import InventorySettings
from platform_kit.app import FASTAPI_TELEMETRY, install_platform
from platform_kit.body_limits import SUBGRAPH_MAX_BODY_BYTES
from platform_kit.errors import DomainError
from platform_kit.logging import configure_logging
from platform_kit.maintenance import upkeep
from platform_kit.middleware import principal_of
from platform_kit.mongo import DATABASE_UNAVAILABLE, ping
from platform_kit.problems import classified_problem, problem_response

__all__ = ["create_app"]


def create_app(settings: InventorySettings | None = None) -> FastAPI:
    settings = settings or InventorySettings()
    configure_logging("inventory", settings.log_level, settings.log_format)
    secret = settings.jwt_secret()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        inventory = bootstrap(settings)
        app.state.inventory = inventory
        try:
            async with upkeep(
                setup=inventory.start,
                task=inventory.reservations.sweep,
                interval=inventory.settings.sweep_interval_seconds,
                transient=DATABASE_UNAVAILABLE,
                name="reservation sweep",
            ):
                yield
        finally:
            await inventory.close()

    app = FastAPI(
        title="Inventory subgraph", version="0.1.0", lifespan=lifespan, telemetry=FASTAPI_TELEMETRY
    )

    async def context_getter(request: Request) -> InventoryContext:
        return InventoryContext(request.app.state.inventory, principal_of(request))

    app.include_router(GraphQLRouter(schema, context_getter=context_getter), prefix="/graphql")
    app.include_router(reservations_router())
    install_platform(
        app,
        service="inventory",
        jwt_secret=lambda: secret,
        readiness=lambda: {"database": lambda: ping(app.state.inventory.client)},
        max_body_bytes=SUBGRAPH_MAX_BODY_BYTES,
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
