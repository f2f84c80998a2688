"""The gateway's app: `uvicorn gateway.entrypoints.app:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.routing import Match, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from gateway.entrypoints.allocator import keep_large_buffers
from gateway.entrypoints.client_identity import ClientIdentity
from gateway.entrypoints.csrf import CsrfPrevention
from gateway.entrypoints.frozen_heap import FrozenHeap
from gateway.entrypoints.graphql_endpoint import GraphQLEndpoint
from gateway.entrypoints.graphql_ws import GraphQLWebSocket
from gateway.entrypoints.http_get import graphql_get_route
from gateway.entrypoints.persisted_documents_setup import (
    manifest_watcher_running,
    persisted_documents,
)
from gateway.entrypoints.subscriptions import Subscriptions
from gateway.entrypoints.supergraph_file import SupergraphFile
from gateway.entrypoints.supergraph_reload import SupergraphReloader
from gateway.entrypoints.web_ui import install_docs, install_playground
from gateway.entrypoints.websocket_direct import WebSocketLane
from gateway.federation.budget import BudgetLimits, Budgets
from gateway.federation.executor import Executor
from gateway.federation.override import OverrideLabels
from gateway.federation.pipeline import CacheLimits, Gateway, OperationLimits, RequestError
from gateway.federation.preparation import (
    PreparationCapacity,
    PreparationLimits,
    share_the_interpreter,
)
from gateway.federation.subgraph_streams import SubgraphStreams
from gateway.federation.supergraph import Supergraph
from gateway.federation.transport import SubgraphTransport
from gateway.rest.openapi import install_openapi
from gateway.rest.operations import REST_OPERATIONS
from gateway.rest.problems import install_problem_handlers
from gateway.rest.routes import router as rest_routes
from gateway.settings import GatewaySettings
from platform_kit.app import FASTAPI_TELEMETRY, install_platform
from platform_kit.logging import configure_logging
from platform_kit.middleware import AuthMiddleware

__all__ = ["create_app"]


def build_gateway(
    sdl: str,
    settings: GatewaySettings,
    transport: SubgraphTransport,
    budgets: Budgets,
    preparation: PreparationCapacity | None = None,
    streams: SubgraphStreams | None = None,
) -> Gateway:
    """Everything made from one supergraph, over the process's one connection pool."""
    supergraph = Supergraph.parse(sdl)
    urls = {
        graph: settings.subgraph_url(sub.name, sub.url)
        for graph, sub in supergraph.subgraphs.items()
    }
    limits = OperationLimits(
        max_tokens=settings.max_tokens,
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_root_fields=settings.max_root_fields,
        max_fields=settings.max_fields,
        max_selection_fields=settings.max_selection_fields,
        max_cost=settings.max_cost,
    )
    gateway = Gateway(
        supergraph,
        Executor(
            supergraph.subgraphs,
            urls,
            transport,
            streams,
        ),
        limits,
        CacheLimits(max_bytes=settings.cache_max_bytes),
        OverrideLabels.of(
            supergraph.override_labels, settings.override_labels_on, settings.override_labels_off
        ),
        budgets,
        preparation,
    )
    for document in REST_OPERATIONS:  # the routes' own: no client pays for preparing them
        try:
            gateway.prepare(document, None)
        except RequestError:  # a supergraph without our schema (another federation's)
            continue
    return gateway


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    configure_logging("gateway", settings.log_level, settings.log_format)
    secret = settings.jwt_secret()
    documents, manifest_watcher = persisted_documents(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        transport = SubgraphTransport(
            settings.subgraph_timeout_seconds, deduplicate=settings.deduplicate_subgraph_requests
        )
        streams = SubgraphStreams(
            settings.subgraph_timeout_seconds,
            resume_seconds=settings.subscription_resume_seconds,
        )
        heap = FrozenHeap()
        keep_large_buffers()  # large answers reuse the heap's pages (allocator.py)
        # one set of budgets for the process: a reloaded supergraph keeps them
        budgets = Budgets(
            BudgetLimits(
                settings.budget_maximum,
                settings.budget_restore_rate,
                settings.budget_max_clients,
                settings.budget_hold_refusals,
            )
        )
        preparation_limits = PreparationLimits(
            settings.preparation_points_per_ms,
            settings.preparation_share,
            settings.preparation_burst_seconds,
            switch_interval=settings.preparation_switch_interval_ms / 1000,
        )
        share_the_interpreter(preparation_limits)
        preparation = PreparationCapacity(preparation_limits)

        def serve(gateway: Gateway) -> None:
            # one reference, replaced between requests: each request reads it once
            replaced = getattr(app.state, "gateway", None)
            app.state.gateway = gateway
            if replaced is not None:
                heap.replaced(replaced)

        reloader = SupergraphReloader(
            SupergraphFile(settings.supergraph_path, settings.supergraph_max_bytes).read,
            lambda sdl: build_gateway(sdl, settings, transport, budgets, preparation, streams),
            serve,
            poll_seconds=settings.supergraph_poll_seconds if settings.supergraph_watch else None,
            origin=str(settings.supergraph_path),
        )
        reloader.load()
        if manifest_watcher is not None:
            manifest_watcher.load()  # a gateway told to trust a manifest needs one to start
        heap.freeze()
        try:
            with subscriptions.shutdown_on_signals():
                async with reloader.running(), manifest_watcher_running(manifest_watcher):
                    yield
        finally:
            subscriptions.shut_down()
            await heap.close()
            await streams.close()
            await transport.close()
            preparation.close()

    app = _GatewayApp(
        title="Orders and Inventory",
        version="0.1.0",
        description="REST routes of the platform; GraphQL at /graphql (GraphiQL: GET /graphql).",
        lifespan=lifespan,
        telemetry=FASTAPI_TELEMETRY,
        docs_url=None,
        redoc_url=None,
    )

    async def subgraph_ready(transport: SubgraphTransport, graphql_url: str) -> None:
        url = urlsplit(graphql_url)._replace(path="/healthz", query="").geturl()
        status = await transport.status_of(url)
        if status != 200:
            raise RuntimeError(f"/healthz answered {status}")

    def readiness() -> dict[str, Any]:
        gateway: Gateway = app.state.gateway
        executor = gateway.executor
        return {
            gateway.supergraph.subgraphs[graph].name: (
                lambda url=url: subgraph_ready(executor.transport, url)
            )
            for graph, url in executor.urls.items()
        }

    identity = app.state.client_identity = ClientIdentity(settings.trusted_proxies)
    subscriptions = app.state.subscriptions = Subscriptions(settings.subscription_limits())
    # a plain Starlette route to a plain ASGI app: the hot path skips FastAPI's handler,
    # and is matched first
    endpoint = GraphQLEndpoint(
        deduplicate=settings.deduplicate_inbound_requests,
        identity=identity,
        documents=documents,
        cost_in_answers=settings.cost_in_answers,
    )
    app.router.routes.insert(
        0, _NamedRoute("/graphql", endpoint, methods=["POST"], include_in_schema=False)
    )
    # GET operations (http_get.py); a GET asking for the GraphiQL page goes on to its route
    app.router.routes.insert(1, graphql_get_route(endpoint))
    websocket = GraphQLWebSocket(subscriptions, identity, secret, documents)
    app.router.routes.insert(2, WebSocketRoute("/graphql", websocket.handle))
    install_playground(app)
    app.include_router(rest_routes)
    install_openapi(app)
    install_docs(app)
    install_problem_handlers(app)
    install_platform(
        app,
        service="gateway",
        jwt_secret=lambda: secret,
        readiness=readiness,
        admission=settings.admission_limits(),
        before_body=[CsrfPrevention],
    )
    # before any middleware: it needs uvicorn's own send, not a middleware's wrapper of it;
    # the WebSocket at /graphql goes through the one middleware that acts on WebSockets
    # (the header's token), not through every layer that passes it on (websocket_direct),
    # Starlette's and FastAPI's own included
    app.websocket_lane = WebSocketLane(
        app.stack, path="/graphql", handler=AuthMiddleware(websocket.asgi, secret=lambda: secret)
    )
    return app


class _GatewayApp(FastAPI):
    """FastAPI, with the WebSockets of the lane's path taken to it first (websocket_direct:
    every layer a connection passes through holds a frame for its life)."""

    websocket_lane: WebSocketLane | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self.websocket_lane
        if lane is not None and scope["type"] == "websocket":
            scope["app"] = self  # what Starlette sets, and the handler reads its state from
            await lane(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def stack(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app as FastAPI serves it (the lane's way on for other WebSockets)."""
        await super().__call__(scope, receive, send)


class _NamedRoute(Route):
    """A Starlette route that names itself in the scope, as FastAPI's routes do, so metrics
    and logs label the request with its route template."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope
