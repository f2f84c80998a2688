"""The supergraph served without a restart.

When the supergraph file's content changes (seen by polling it) or the process gets SIGHUP,
a new `Gateway` is built from it beside the one being served, in a worker thread, and put in
its place as one reference; a content that does not build is logged with the reason and
changes nothing. A `Gateway` is everything made from one supergraph: the parsed model, the
API schema, the planner over them, its own prepared-operation cache (so no plan made for the
old schema ever serves the new one) and an executor for the subgraph URLs of the new one.
A request reads the reference once, and finishes on the `Gateway` it started with.

Polled rather than watched through file-system events (watchfiles, inotify): a Kubernetes
ConfigMap volume changes by pointing a symlink (`..data`) at a new directory, so a watch on
the file's inode never fires, and bind mounts from another host or network volumes may carry
no events at all. Reading a supergraph of a few kilobytes and hashing it every few seconds
costs microseconds, resolves every symlink afresh, and compares what matters, the content: a
touch, or a rewrite with the same bytes, rebuilds nothing."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from gateway.entrypoints.supergraph_file import SupergraphFileRefused
from gateway.federation.supergraph import SupergraphError
from gateway.metrics import SUPERGRAPH_RELOADS

if TYPE_CHECKING:
    from gateway.federation.pipeline import Gateway

__all__ = ["ReloadOutcome", "ReloadTrigger", "SupergraphReloader"]

log = logging.getLogger(__name__)

_MAX_REASON_CHARS = 2_000
# what a supergraph's author got wrong, as opposed to a failure of ours (logged with its trace)
_CONTENT_ERRORS = (GraphQLError, SupergraphError, UnicodeDecodeError)


class ReloadTrigger(StrEnum):
    POLL = "poll"
    SIGHUP = "SIGHUP"


class ReloadOutcome(StrEnum):
    APPLIED = "applied"  # the new content is served
    REJECTED = "rejected"  # it does not build: the previous one is still served
    UNREADABLE = "unreadable"  # the file could not be read: the previous one is still served
    UNCHANGED = "unchanged"  # nothing new since the last look: nothing done


class SupergraphReloader:
    """Reads the supergraph with `read`, makes a `Gateway` of it with `build` and hands it to
    `serve`, which puts it where requests find it."""

    def __init__(
        self,
        read: Callable[[], bytes],
        build: Callable[[str], Gateway],
        serve: Callable[[Gateway], None],
        *,
        poll_seconds: float | None,
        origin: str,
    ) -> None:
        self._read = read
        self._build = build
        self._serve = serve
        self.poll_seconds = poll_seconds  # None: no polling, SIGHUP only
        self.origin = origin  # names the file in logs
        self.serving_sha256: str | None = None
        # What the last look found (a digest, or a read error): a poll that finds it again does
        # nothing, so a broken file is reported once and not at every poll.
        self._last_seen: str | None = None
        self._requested = asyncio.Event()

    def load(self) -> None:
        """The first supergraph, at start-up: with nothing to fall back on, a failure raises."""
        content = self._read()
        self._serve(self._build(content.decode()))
        self.serving_sha256 = self._last_seen = _sha256(content)

    def request_reload(self) -> None:
        """Look at the file now, whether or not it is polled (the SIGHUP handler)."""
        self._requested.set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Polls and answers SIGHUP for as long as the block runs."""
        task = asyncio.create_task(self.run(), name="supergraph-reload")
        try:
            with _reload_on_sighup(self):
                yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        while True:
            trigger = await self._next_trigger()
            try:
                await self.reload(trigger)
            except Exception:
                # `reload` handles every failure a file can cause; anything else is a bug of
                # ours, which must not end the watch
                log.exception("supergraph reload failed", extra=self._fields(trigger))

    async def _next_trigger(self) -> ReloadTrigger:
        try:
            await asyncio.wait_for(self._requested.wait(), self.poll_seconds)
        except TimeoutError:
            return ReloadTrigger.POLL
        self._requested.clear()
        return ReloadTrigger.SIGHUP

    async def reload(self, trigger: ReloadTrigger) -> ReloadOutcome:
        fields = self._fields(trigger)
        try:
            content = await asyncio.to_thread(self._read)  # a volume may be slow: off the loop
        except OSError as error:
            seen = f"unreadable: {error}"
            if self._seen_again(seen, trigger):
                return ReloadOutcome.UNCHANGED
            self._last_seen = seen
            # a missing file is often a passing moment (an editor replacing it): a warning;
            # a path naming a device, a FIFO or a huge file is a mistake to correct: an error
            log.log(
                logging.ERROR if isinstance(error, SupergraphFileRefused) else logging.WARNING,
                "cannot read the supergraph; still serving the previous one",
                extra={**fields, "reason": str(error)},
            )
            SUPERGRAPH_RELOADS.labels(ReloadOutcome.UNREADABLE).inc()
            return ReloadOutcome.UNREADABLE
        sha256 = _sha256(content)
        if sha256 == self.serving_sha256 or self._seen_again(sha256, trigger):
            self._last_seen = sha256
            if trigger is ReloadTrigger.SIGHUP:  # an operator asked: say so
                log.info("supergraph unchanged", extra=fields)
            return ReloadOutcome.UNCHANGED
        self._last_seen = sha256
        started = time.perf_counter()
        try:
            # beside the one being served and off the event loop: requests keep being answered
            # while a large supergraph is parsed
            gateway = await asyncio.to_thread(self._build, content.decode())
        except Exception as error:
            # whatever the reason, this content cannot be served and the current one still can
            log.error(
                "supergraph rejected; still serving the previous one",
                extra={**fields, "sha256": sha256, "reason": _reason(error)},
                exc_info=not isinstance(error, _CONTENT_ERRORS),
            )
            SUPERGRAPH_RELOADS.labels(ReloadOutcome.REJECTED).inc()
            return ReloadOutcome.REJECTED
        self._serve(gateway)
        previous, self.serving_sha256 = self.serving_sha256, sha256
        log.info(
            "supergraph reloaded",
            extra={
                **self._fields(trigger),
                "previous_sha256": previous,
                "build_seconds": round(time.perf_counter() - started, 4),
            },
        )
        SUPERGRAPH_RELOADS.labels(ReloadOutcome.APPLIED).inc()
        return ReloadOutcome.APPLIED

    def _seen_again(self, seen: str, trigger: ReloadTrigger) -> bool:
        """A poll finding what the last look found has nothing to do; SIGHUP looks again."""
        return trigger is ReloadTrigger.POLL and seen == self._last_seen

    def _fields(self, trigger: ReloadTrigger) -> dict[str, Any]:
        return {
            "supergraph_path": self.origin,
            "trigger": str(trigger),
            "serving_sha256": self.serving_sha256,
        }


@contextlib.contextmanager
def _reload_on_sighup(reloader: SupergraphReloader) -> Iterator[None]:
    """SIGHUP asks this process for a reload. uvicorn's server handles SIGINT and SIGTERM
    only, so without this handler SIGHUP's default action would end the process.

    With several workers (WEB_CONCURRENCY > 1) uvicorn's supervisor is another process and
    handles SIGHUP itself: it replaces its workers one at a time, each new one started on the
    file as it is then and put in service before the old one stops; a new worker that cannot
    start (a broken file) is discarded and the old workers stay. Each worker also polls the
    file, and a SIGHUP sent to one worker reloads that worker."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, reloader.request_reload)
    except (AttributeError, NotImplementedError, RuntimeError, ValueError):
        # no SIGHUP on this platform, or not the main thread (an app run by a test client)
        log.info("SIGHUP does not reload here: no handler could be installed")
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:_MAX_REASON_CHARS]
