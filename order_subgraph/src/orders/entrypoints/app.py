"""The order subgraph's app: `uvicorn orders.entrypoints.app:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from orders.bootstrap import bootstrap
from orders.entrypoints.graphql.context import OrderContext
from orders.entrypoints.graphql.schema import schema
from orders.settings import OrderSettings
from platform_kit.graphql import subgraph_app

__all__ = ["create_app"]


def create_app(settings: OrderSettings | None = None) -> FastAPI:
    settings = settings or OrderSettings()
    return subgraph_app(
        title="Order subgraph",
        service="orders",
        settings=settings,
        schema=schema,
        bootstrap=lambda: bootstrap(settings),
        context=OrderContext,
    )
