"""The browser pages when their files were never built: the gateway still starts, and the
pages say what to run instead of failing with a 404 or a 500."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from gateway.entrypoints.web_ui import install_docs, install_playground


def _client(web_ui: Path) -> httpx.AsyncClient:
    app = FastAPI(docs_url=None, redoc_url=None)
    install_playground(app, web_ui)
    install_docs(app, web_ui)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


async def test_pages_not_built_answer_503_naming_the_command(tmp_path: Path) -> None:
    client = _client(tmp_path / "never-built")
    for path, page in (("/graphql", "GraphiQL"), ("/docs", "Swagger UI")):
        response = await client.get(path)
        assert response.status_code == 503
        assert page in response.text and "make install" in response.text


async def test_built_pages_are_served_with_their_files(tmp_path: Path) -> None:
    (tmp_path / "graphiql").mkdir()
    (tmp_path / "graphiql" / "graphiql.min.js").write_text("/* graphiql */")
    (tmp_path / "swagger-ui").mkdir()
    (tmp_path / "swagger-ui" / "swagger-ui.css").write_text("/* swagger */")
    client = _client(tmp_path)
    page = await client.get("/graphql")
    assert page.status_code == 200 and "/graphql/assets/plugin-explorer.umd.js" in page.text
    assert (await client.get("/graphql/assets/graphiql.min.js")).text == "/* graphiql */"
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "persistAuthorization" in docs.text
    assert (await client.get("/docs/assets/swagger-ui.css")).text == "/* swagger */"
