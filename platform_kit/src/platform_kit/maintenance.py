"""A service's background upkeep: set-up that waits for the database, then a periodic task
(a sweep, a reconciliation) that survives passing outages. Started in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

__all__ = ["Upkeep"]

log = logging.getLogger("maintenance")
RETRY_SECONDS = 2.0


@dataclass(frozen=True)
class Upkeep:
    """Run `setup` until it succeeds, then `task` now and every `interval` seconds. Failures
    of the kinds in `transient` are logged and retried; anything else is a bug and raises."""

    name: str
    setup: Callable[[], Awaitable[None]]
    task: Callable[[], Awaitable[int]]
    interval: float
    transient: tuple[type[BaseException], ...]

    async def run(self) -> None:
        while True:
            try:
                await self.setup()
                break
            except self.transient as error:
                log.warning("set-up waits for its dependencies", extra={"error": str(error)})
                await asyncio.sleep(RETRY_SECONDS)
        while True:
            try:
                settled = await self.task()
                if settled:
                    log.info(f"{self.name} settled records", extra={"count": settled})
            except self.transient as error:
                log.warning(f"{self.name} skipped", extra={"error": str(error)})
            await asyncio.sleep(self.interval)

    @asynccontextmanager
    async def in_background(self) -> AsyncIterator[None]:
        """`run` in the background for as long as the block runs (a lifespan's)."""
        running = asyncio.create_task(self.run())
        try:
            yield
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
