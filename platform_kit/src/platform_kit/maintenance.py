"""A service's background upkeep: set-up that waits for the database, then a periodic task
(a sweep, a reconciliation) that survives passing outages. Started in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

__all__ = ["keep_up", "upkeep"]

log = logging.getLogger("maintenance")
RETRY_SECONDS = 2.0


async def keep_up(
    *,
    setup: Callable[[], Awaitable[None]],
    task: Callable[[], Awaitable[int]],
    interval: float,
    transient: tuple[type[BaseException], ...],
    name: str,
) -> None:
    """Run `setup` until it succeeds, then `task` now and every `interval` seconds. Failures
    of the kinds in `transient` are logged and retried; anything else is a bug and raises."""
    while True:
        try:
            await setup()
            break
        except transient as error:
            log.warning("set-up waits for its dependencies", extra={"error": str(error)})
            await asyncio.sleep(RETRY_SECONDS)
    while True:
        try:
            settled = await task()
            if settled:
                log.info(f"{name} settled records", extra={"count": settled})
        except transient as error:
            log.warning(f"{name} skipped", extra={"error": str(error)})
        await asyncio.sleep(interval)


@asynccontextmanager
async def upkeep(
    *,
    setup: Callable[[], Awaitable[None]],
    task: Callable[[], Awaitable[int]],
    interval: float,
    transient: tuple[type[BaseException], ...],
    name: str,
) -> AsyncIterator[None]:
    """`keep_up` in the background for as long as the block runs (a lifespan's)."""
    running = asyncio.create_task(
        keep_up(setup=setup, task=task, interval=interval, transient=transient, name=name)
    )
    try:
        yield
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
