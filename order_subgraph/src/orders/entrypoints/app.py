"""The order subgraph's app: `uvicorn orders.entrypoints.app:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from strawberry.fastapi import GraphQLRouter

from orders.bootstrap import bootstrap
from orders.entrypoints.graphql.context import OrderContext
from orders.entrypoints.graphql.schema import schema
from orders.settings import OrderSettings
from platform_kit.app import FASTAPI_TELEMETRY, install_platform
from platform_kit.body_limits import SUBGRAPH_MAX_BODY_BYTES
from platform_kit.errors import DomainError
from platform_kit.logging import configure_logging
from platform_kit.maintenance import upkeep
from platform_kit.middleware import principal_of
from platform_kit.mongo import DATABASE_UNAVAILABLE, ping

__all__ = ["create_app"]


def create_app(settings: OrderSettings | None = None) -> FastAPI:
    settings = settings or OrderSettings()
    configure_logging("orders", settings.log_level, settings.log_format)
    secret = settings.jwt_secret()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = bootstrap(settings, secret)
        app.state.service = service
        try:
            async with upkeep(
                setup=service.start,
                task=service.reconcile,
                interval=service.settings.reconcile_interval_seconds,
                transient=(DomainError, *DATABASE_UNAVAILABLE),
                name="reconciliation",
            ):
                yield
        finally:
            await service.close()

    app = FastAPI(
        title="Order subgraph", version="0.1.0", lifespan=lifespan, telemetry=FASTAPI_TELEMETRY
    )

    async def context_getter(request: Request) -> OrderContext:
        return OrderContext(request.app.state.service, principal_of(request))

    app.include_router(GraphQLRouter(schema, context_getter=context_getter), prefix="/graphql")
    install_platform(
        app,
        service="orders",
        jwt_secret=lambda: secret,
        readiness=lambda: {
            "database": lambda: ping(app.state.service.client),
            "inventory": app.state.service.inventory.ready,
        },
        max_body_bytes=SUBGRAPH_MAX_BODY_BYTES,
    )
    return app
