"""GraphiQL at GET /graphql, with every asset served by the gateway (no CDN): the playground
works with no internet access."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

__all__ = ["install_playground"]

ASSETS = Path(__file__).resolve().parent / "static" / "graphiql"
ASSETS_URL = "/graphql/assets"

PAGE = f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Orders and Inventory - GraphiQL</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <link rel="stylesheet" href="{ASSETS_URL}/graphiql.min.css">
    <style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL...</div>
    <script src="{ASSETS_URL}/react.production.min.js"></script>
    <script src="{ASSETS_URL}/react-dom.production.min.js"></script>
    <script src="{ASSETS_URL}/graphiql.min.js"></script>
    <script src="{ASSETS_URL}/playground.js"></script>
  </body>
</html>
"""


def install_playground(app: FastAPI) -> None:
    router = APIRouter(include_in_schema=False)

    @router.get("/graphql")
    async def playground() -> HTMLResponse:
        return HTMLResponse(PAGE)

    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="graphiql-assets")
