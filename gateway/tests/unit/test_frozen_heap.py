"""The heap is frozen after start-up, unfrozen when a supergraph reload replaces the Gateway
(so the old schema's cycles can be collected) and frozen again once the old one is gone."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.entrypoints.frozen_heap import YOUNG_GENERATION_THRESHOLD, FrozenHeap
from gateway.federation.executor import Executor
from gateway.federation.pipeline import Gateway, RequestError
from gateway.federation.supergraph import Supergraph
from gateway.federation.transport import SubgraphTransport

SUPERGRAPH = Path(__file__).resolve().parents[2] / "supergraph.graphql"


class Replaced:
    """Stands for a replaced Gateway."""


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    """The test process's heap is left as it was found: not frozen, its thresholds as
    they were."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_a_frozen_heap_collects_its_youngest_objects_less_often() -> None:
    gc.set_threshold(700, 11, 12)
    FrozenHeap().freeze()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, 11, 12)


async def _frozen_again(heap: FrozenHeap) -> None:
    async with asyncio.timeout(5):
        while True:
            if gc.get_freeze_count() > 0:
                return
            await asyncio.sleep(0.005)


async def test_the_heap_is_frozen_again_once_the_replaced_object_is_let_go() -> None:
    heap = FrozenHeap(check_seconds=0.01, max_wait_seconds=60)
    heap.freeze()
    assert gc.get_freeze_count() > 0
    old: Replaced | None = Replaced()
    heap.replaced(old)
    assert gc.get_freeze_count() == 0
    await asyncio.sleep(0.05)
    assert gc.get_freeze_count() == 0  # still held (by a request, say): not frozen with it
    old = None
    await _frozen_again(heap)
    await heap.close()


async def test_an_object_never_let_go_is_waited_for_at_most_max_wait_seconds() -> None:
    heap = FrozenHeap(check_seconds=0.01, max_wait_seconds=0.05)
    kept = Replaced()
    heap.replaced(kept)
    await _frozen_again(heap)
    await heap.close()


def test_a_replaced_gateway_dies_without_a_collection() -> None:
    """What FrozenHeap waits for: nothing in a Gateway points back at it, so the last request
    to let it go frees it by reference counting (a cycle would wait for a full collection)."""
    supergraph = Supergraph.parse(SUPERGRAPH.read_text())
    gateway = Gateway(supergraph, Executor(supergraph.subgraphs, {}, SubgraphTransport(1)))
    gateway.prepare("{ products { items { id name } } }", None)
    with pytest.raises(RequestError):  # a refused request leaves nothing behind either
        gateway.prepare("{ nope }", None)
    released = weakref.ref(gateway)
    gc.disable()
    try:
        del gateway
        assert released() is None
    finally:
        gc.enable()
