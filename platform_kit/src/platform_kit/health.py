"""/healthz, /readyz and /metrics, the same on every service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from starlette.responses import JSONResponse, Response

from platform_kit.metrics import CONTENT_TYPE_LATEST, render_metrics

__all__ = ["ReadinessCheck", "ops_router"]

ReadinessCheck = Callable[[], Awaitable[None]]
READINESS_TIMEOUT_SECONDS = 2.0


def ops_router(checks: Callable[[], Mapping[str, ReadinessCheck]]) -> APIRouter:
    """`checks` is called per request so the lifespan can wire dependencies after start-up."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        named = dict(checks())
        results = await asyncio.gather(
            *(_run_check(check) for check in named.values()), return_exceptions=False
        )
        report = dict(zip(named, results, strict=True))
        ready = all(result == "ok" for result in report.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": report},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)

    return router


async def _run_check(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), timeout=READINESS_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timeout"
    except Exception as exc:
        return f"error: {type(exc).__name__}: {str(exc)[:200]}"
    return "ok"
