"""A service with the platform's middleware and handlers that wait until told to finish, for
tests of what the platform does while work is in flight (run under uvicorn, with this folder
on PYTHONPATH: `holding_app:create_app`)."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request

from platform_kit.app import install_platform
from platform_kit.logging import configure_logging
from platform_kit.settings import ServiceSettings

HANDLERS = {"holding": 0, "cancelled": 0}


def create_app() -> FastAPI:
    settings = ServiceSettings()
    configure_logging("holding", settings.log_level, settings.log_format)
    secret = settings.jwt_secret()
    app = FastAPI()
    release = asyncio.Event()

    async def hold() -> dict[str, bool]:
        HANDLERS["holding"] += 1
        try:
            await release.wait()
        except asyncio.CancelledError:
            HANDLERS["cancelled"] += 1
            raise
        finally:
            HANDLERS["holding"] -= 1
        return {"released": True}

    @app.get("/hold")
    async def hold_get() -> dict[str, bool]:
        return await hold()

    @app.post("/hold")
    async def hold_post(request: Request) -> dict[str, bool]:
        await request.json()
        return await hold()

    @app.post("/release")
    async def release_all() -> dict[str, int]:
        release.set()
        await asyncio.sleep(0)
        release.clear()
        return HANDLERS

    @app.get("/handlers")
    async def handlers() -> dict[str, int]:
        return HANDLERS

    @app.get("/quick")
    async def quick() -> dict[str, bool]:
        return {"ok": True}

    install_platform(
        app,
        service="holding",
        jwt_secret=lambda: secret,
        readiness=dict,
        admission=settings.admission_limits(),
    )
    return app
