"""A supergraph reload builds a new Gateway beside the served one and swaps it in; a file that
does not build, or cannot be read, changes nothing and is reported once. No I/O: the file is
a value in memory, and what is served is a list."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from gateway.entrypoints.supergraph_reload import (
    ReloadOutcome,
    ReloadTrigger,
    SupergraphReloader,
)
from gateway.federation.executor import Executor
from gateway.federation.pipeline import Gateway, RequestError
from gateway.federation.supergraph import Supergraph
from gateway.federation.transport import SubgraphTransport

SUPERGRAPH = (Path(__file__).resolve().parents[2] / "supergraph.graphql").read_text()
# the same supergraph with Product.sku renamed: a schema visibly different
RENAMED = SUPERGRAPH.replace("  sku: String @join__field", "  skuCode: String @join__field")
BROKEN = {
    "not GraphQL": "this is not { a supergraph",
    "cut short": SUPERGRAPH[: len(SUPERGRAPH) // 2],
    "no join__Graph": "type Query { hello: String }",
    "an unknown type": SUPERGRAPH.replace(
        "  stock: Int! @join__field", "  stock: Stock! @join__field"
    ),
    "not UTF-8": "\udcff",  # written as bytes below: one byte that is not UTF-8
    "empty": "",
}


class FakeFile:
    """The supergraph file: its content, or the error reading it raises."""

    def __init__(self, content: str) -> None:
        self.content: bytes = content.encode()
        self.error: OSError | None = None
        self.reads = 0

    def write(self, content: str) -> None:
        self.content = content.encode("utf-8", errors="surrogateescape")

    def read(self) -> bytes:
        self.reads += 1
        if self.error is not None:
            raise self.error
        return self.content


class Served:
    """Where `serve` puts each Gateway, with a count of the builds asked for."""

    def __init__(self) -> None:
        self.gateways: list[Gateway] = []
        self.builds = 0

    def build(self, sdl: str) -> Gateway:
        self.builds += 1
        supergraph = Supergraph.parse(sdl)
        return Gateway(supergraph, Executor(supergraph.subgraphs, {}, SubgraphTransport(1)))

    @property
    def current(self) -> Gateway:
        return self.gateways[-1]

    def product_fields(self) -> list[str]:
        return _product_fields(self.current)


def _product_fields(gateway: Gateway) -> list[str]:
    return list(getattr(gateway.supergraph.api_schema.get_type("Product"), "fields", {}))


@pytest.fixture
def file() -> FakeFile:
    return FakeFile(SUPERGRAPH)


@pytest.fixture
def served() -> Served:
    return Served()


@pytest.fixture
def reloader(file: FakeFile, served: Served) -> SupergraphReloader:
    reloader = SupergraphReloader(
        file.read, served.build, served.gateways.append, poll_seconds=None, origin="memory"
    )
    reloader.load()
    return reloader


def _count(outcome: ReloadOutcome) -> float:
    value = REGISTRY.get_sample_value("gateway_supergraph_reloads_total", {"outcome": str(outcome)})
    return value or 0.0


def _reload_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "gateway.entrypoints.supergraph_reload"]


async def test_a_changed_supergraph_is_built_beside_and_served(
    file: FakeFile, served: Served, reloader: SupergraphReloader
) -> None:
    first = served.current
    applied = _count(ReloadOutcome.APPLIED)
    file.write(RENAMED)
    assert await reloader.reload(ReloadTrigger.POLL) is ReloadOutcome.APPLIED
    assert served.current is not first
    assert "skuCode" in served.product_fields()
    assert "sku" not in served.product_fields()
    assert "sku" in _product_fields(first)
    assert _count(ReloadOutcome.APPLIED) == applied + 1


async def test_the_new_schema_never_answers_with_a_plan_made_for_the_old(
    file: FakeFile, served: Served, reloader: SupergraphReloader
) -> None:
    query = "{ products { items { sku } } }"
    old = served.current
    prepared = old.prepare(query, None)
    assert old.prepare(query, None) is prepared  # cached in the old one
    file.write(RENAMED)
    await reloader.reload(ReloadTrigger.POLL)
    with pytest.raises(RequestError) as refused:
        served.current.prepare(query, None)
    assert refused.value.errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert old.prepare(query, None) is prepared  # a request still on the old one finishes there


async def test_the_same_content_again_builds_nothing(
    file: FakeFile, served: Served, reloader: SupergraphReloader
) -> None:
    file.write(SUPERGRAPH)  # rewritten with the same bytes (or touched)
    assert await reloader.reload(ReloadTrigger.POLL) is ReloadOutcome.UNCHANGED
    assert await reloader.reload(ReloadTrigger.SIGHUP) is ReloadOutcome.UNCHANGED
    assert (served.builds, len(served.gateways)) == (1, 1)


@pytest.mark.parametrize("broken", BROKEN.values(), ids=BROKEN.keys())
async def test_a_broken_supergraph_changes_nothing_and_is_reported_once(
    file: FakeFile,
    served: Served,
    reloader: SupergraphReloader,
    broken: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    serving = served.current
    rejected = _count(ReloadOutcome.REJECTED)
    file.write(broken)
    assert await reloader.reload(ReloadTrigger.POLL) is ReloadOutcome.REJECTED
    assert served.current is serving
    assert _count(ReloadOutcome.REJECTED) == rejected + 1
    (record,) = _reload_logs(caplog)
    assert record.levelno == logging.ERROR
    assert record.sha256 != record.serving_sha256 == reloader.serving_sha256  # type: ignore[attr-defined]
    assert record.reason  # type: ignore[attr-defined]
    assert not record.exc_info  # the file's fault: no trace of ours
    # polling again finds the same bytes: not built, not reported again
    assert await reloader.reload(ReloadTrigger.POLL) is ReloadOutcome.UNCHANGED
    assert len(_reload_logs(caplog)) == 1
    # an operator's SIGHUP gets the answer again
    assert await reloader.reload(ReloadTrigger.SIGHUP) is ReloadOutcome.REJECTED
    assert len(_reload_logs(caplog)) == 2
    assert served.current is serving


async def test_the_served_content_back_after_a_broken_one_builds_nothing(
    file: FakeFile, served: Served, reloader: SupergraphReloader
) -> None:
    file.write(BROKEN["cut short"])
    await reloader.reload(ReloadTrigger.POLL)
    file.write(SUPERGRAPH)
    assert await reloader.reload(ReloadTrigger.POLL) is ReloadOutcome.UNCHANGED
    assert (served.builds, len(served.gateways)) == (2, 1)


async def test_a_file_that_cannot_be_read_changes_nothing_until_it_can(
    file: FakeFile,
    served: Served,
    reloader: SupergraphReloader,
    caplog: pytest.LogCaptureFixture,
) -> None:
    serving = served.current
    file.error = FileNotFoundError(2, "No such file or directory")
    assert await reloader.reload(ReloadTrigger.POLL) is ReloadOutcome.UNREADABLE
    assert await reloader.reload(ReloadTrigger.POLL) is ReloadOutcome.UNCHANGED
    assert served.current is serving
    (record,) = _reload_logs(caplog)
    assert record.levelno == logging.WARNING
    file.error = None
    file.write(RENAMED)
    assert await reloader.reload(ReloadTrigger.POLL) is ReloadOutcome.APPLIED
    assert "skuCode" in served.product_fields()


async def test_a_build_that_fails_for_another_reason_is_logged_with_its_trace(
    file: FakeFile, served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    def build(sdl: str) -> Gateway:
        if served.gateways:
            raise KeyError("url")
        return served.build(sdl)

    reloader = SupergraphReloader(
        file.read, build, served.gateways.append, poll_seconds=None, origin="memory"
    )
    reloader.load()
    file.write(RENAMED)
    assert await reloader.reload(ReloadTrigger.POLL) is ReloadOutcome.REJECTED
    (record,) = _reload_logs(caplog)
    assert record.exc_info
    assert record.reason == "KeyError: 'url'"  # type: ignore[attr-defined]


def test_a_supergraph_that_does_not_build_at_start_up_is_an_error(served: Served) -> None:
    file = FakeFile(BROKEN["no join__Graph"])
    reloader = SupergraphReloader(
        file.read, served.build, served.gateways.append, poll_seconds=None, origin="memory"
    )
    with pytest.raises(ValueError, match="no join__Graph"):
        reloader.load()
    assert served.gateways == []


@pytest.fixture
async def polling(file: FakeFile, served: Served) -> AsyncIterator[SupergraphReloader]:
    reloader = SupergraphReloader(
        file.read, served.build, served.gateways.append, poll_seconds=0.01, origin="memory"
    )
    reloader.load()
    async with reloader.running():
        yield reloader


async def _until(condition: Callable[[], bool]) -> None:
    """Polls `condition` for up to 5 s."""
    async with asyncio.timeout(5):
        while True:
            if condition():
                return
            await asyncio.sleep(0.005)


async def test_polling_serves_a_change_and_keeps_going_after_a_broken_file(
    file: FakeFile, served: Served, polling: SupergraphReloader
) -> None:
    file.write(BROKEN["not GraphQL"])
    await _until(lambda: served.builds == 2)  # tried, refused
    reads = file.reads
    await _until(lambda: file.reads > reads + 2)  # still polling, nothing to build
    assert (served.builds, len(served.gateways)) == (2, 1)
    file.write(RENAMED)
    await _until(lambda: len(served.gateways) == 2)
    assert "skuCode" in served.product_fields()


async def test_without_polling_a_reload_happens_only_when_asked(
    file: FakeFile, served: Served
) -> None:
    reloader = SupergraphReloader(
        file.read, served.build, served.gateways.append, poll_seconds=None, origin="memory"
    )
    reloader.load()
    async with reloader.running():
        file.write(RENAMED)
        for _ in range(20):  # the loop gets every chance to run: nothing reads the file
            await asyncio.sleep(0)
        assert (file.reads, len(served.gateways)) == (1, 1)
        reloader.request_reload()  # as SIGHUP does
        await _until(lambda: len(served.gateways) == 2)
    assert "skuCode" in served.product_fields()
