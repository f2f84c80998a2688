"""REST dependencies made from the request run on the event loop, not on a worker thread
(a hop that waits for the interpreter's lock whenever another thread holds it)."""

from __future__ import annotations

import threading
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, Query

from gateway.rest.deps import on_the_loop


class Listing:
    """A listing's parameters."""

    def __init__(self, limit: Annotated[int, Query(ge=1, le=5)] = 2, q: str | None = None) -> None:
        self.limit = limit
        self.q = q
        self.thread = threading.get_ident()


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/on-the-loop")
    async def on_loop(listing: Annotated[Listing, Depends(on_the_loop(Listing))]) -> dict:
        return {"same_thread": listing.thread == threading.get_ident(), "limit": listing.limit}

    @app.get("/plain")
    async def plain(listing: Annotated[Listing, Depends()]) -> dict:
        return {"same_thread": listing.thread == threading.get_ident(), "limit": listing.limit}

    return app


async def test_a_class_dependency_is_made_on_the_loop_with_its_own_parameters() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        answer = await client.get("/on-the-loop", params={"limit": 4})
        assert answer.json() == {"same_thread": True, "limit": 4}
        # FastAPI's own way, for comparison: a worker thread
        assert (await client.get("/plain")).json() == {"same_thread": False, "limit": 2}
        # the parameters are still checked as declared
        assert (await client.get("/on-the-loop", params={"limit": 9})).status_code == 422


def test_the_openapi_document_reads_the_same_parameters() -> None:
    document = _app().openapi()
    loop_params = document["paths"]["/on-the-loop"]["get"]["parameters"]
    plain_params = document["paths"]["/plain"]["get"]["parameters"]
    assert loop_params == plain_params
    assert [p["name"] for p in loop_params] == ["limit", "q"]
