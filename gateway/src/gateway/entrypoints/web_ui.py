"""The gateway's browser pages: GraphiQL (with the Explorer plugin) at GET /graphql and
Swagger UI at /docs.

Their files come from pinned npm packages (gateway/ui/package-lock.json), copied into
gateway/web_ui/ by `make install` or by the image build (gateway/ui/collect.mjs). The gateway
serves them itself, so both pages work with no internet access. A checkout where they were
never built still serves the API: the pages answer 503 and say how to build them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.staticfiles import StaticFiles

__all__ = ["WEB_UI", "install_docs", "install_playground"]

WEB_UI = Path(__file__).resolve().parent.parent / "web_ui"
GRAPHIQL_URL = "/graphql/assets"
SWAGGER_URL = "/docs/assets"

log = logging.getLogger(__name__)

PLAYGROUND_PAGE = f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Orders and Inventory - GraphiQL</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <link rel="stylesheet" href="{GRAPHIQL_URL}/graphiql.min.css">
    <link rel="stylesheet" href="{GRAPHIQL_URL}/plugin-explorer.css">
    <style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL...</div>
    <script src="{GRAPHIQL_URL}/react.production.min.js"></script>
    <script src="{GRAPHIQL_URL}/react-dom.production.min.js"></script>
    <script src="{GRAPHIQL_URL}/graphiql.min.js"></script>
    <script src="{GRAPHIQL_URL}/plugin-explorer.umd.js"></script>
    <script src="{GRAPHIQL_URL}/playground.js"></script>
  </body>
</html>
"""


def _not_built(page: str) -> Response:
    return PlainTextResponse(
        f"{page} is not installed in this gateway: its files are built from gateway/ui by "
        "`make install` (or by the image build). The API itself works.",
        status_code=503,
    )


def _mount(app: FastAPI, url: str, folder: Path, name: str) -> bool:
    # check_dir=False: a missing folder must not stop the gateway from starting
    app.mount(url, StaticFiles(directory=folder, check_dir=False), name=name)
    if folder.is_dir():
        return True
    log.warning("web UI files missing", extra={"folder": str(folder), "page": name})
    return False


def install_playground(app: FastAPI, web_ui: Path = WEB_UI) -> None:
    built = _mount(app, GRAPHIQL_URL, web_ui / "graphiql", "graphiql-assets")

    @app.get("/graphql", include_in_schema=False)
    async def playground() -> Response:
        return HTMLResponse(PLAYGROUND_PAGE) if built else _not_built("GraphiQL")


def install_docs(app: FastAPI, web_ui: Path = WEB_UI) -> None:
    built = _mount(app, SWAGGER_URL, web_ui / "swagger-ui", "docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        if not built:
            return _not_built("Swagger UI")
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Orders and Inventory - REST",
            swagger_js_url=f"{SWAGGER_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_URL}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_URL}/favicon-32x32.png",
            # a token given to Authorize survives a reload of the page
            swagger_ui_parameters={"persistAuthorization": True},
        )
