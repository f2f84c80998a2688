"""What a document the gateway has not seen costs (federation/preparation.py): its client
pays the time preparing it took, a client with an empty budget is refused before anything
is parsed, all clients' new documents share a bounded part of the process's time, and one
new document sent by many clients at once is prepared once. Clocks are injected where the
rule is about time; preparations run on the real preparing thread."""

from __future__ import annotations

import asyncio
import gc
import sys
import time
import types
from pathlib import Path

import pytest
from graphql.language import Node

from gateway.federation.budget import BudgetLimits, Budgets, OverBudget
from gateway.federation.executor import Executor
from gateway.federation.pipeline import Gateway, GatewayBusy, RateLimited, RequestError
from gateway.federation.preparation import (
    Busy,
    PreparationCapacity,
    PreparationLimits,
    share_the_interpreter,
)
from gateway.federation.supergraph import Supergraph
from gateway.federation.transport import SubgraphTransport
from gateway.settings import GatewaySettings

SUPERGRAPH = Path(__file__).resolve().parents[2] / "supergraph.graphql"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _gateway(budgets: Budgets, preparation: PreparationCapacity) -> Gateway:
    supergraph = Supergraph.parse(SUPERGRAPH.read_text())
    executor = Executor(supergraph.subgraphs, {}, SubgraphTransport(timeout=1))
    return Gateway(supergraph, executor, budgets=budgets, preparation=preparation)


def _aliases(count: int, offset: int = 0) -> str:
    fields = " ".join(
        f"a{n}: products(limit: 1, offset: {offset + n}) {{ items {{ id }} }}" for n in range(count)
    )
    return "{ " + fields + " }"


# budgets


def test_charge_goes_past_empty_down_to_one_budget_of_debt() -> None:
    clock = Clock()
    budgets = Budgets(BudgetLimits(100, 10.0), clock=clock)
    status = budgets.charge("a", 250)
    assert status.currently_available == 0  # a debt is shown as nothing left
    with pytest.raises(OverBudget) as refused:
        budgets.require_some("a")
    assert refused.value.retry_after == 11  # -100 back to 1 at 10 a second
    clock.now += 10
    with pytest.raises(OverBudget):
        budgets.require_some("a")
    clock.now += 0.2
    budgets.require_some("a")


def test_require_some_takes_nothing() -> None:
    budgets = Budgets(BudgetLimits(100, 10.0), clock=Clock())
    budgets.require_some("a")
    assert budgets.take("a", 100).currently_available == 0


# the process's share


def test_the_share_is_a_bucket_of_seconds_refilled_at_its_share() -> None:
    clock = Clock()
    capacity = PreparationCapacity(PreparationLimits(share=0.5, burst=1.0), clock=clock)
    capacity.spent(1.5)  # a debt of half a second: one second at half a second a second
    with pytest.raises(Busy) as busy:
        asyncio.run(capacity.run(lambda: 1))
    assert busy.value.retry_after == 1
    clock.now += 1.01
    assert asyncio.run(capacity.run(lambda: 7)).result() == 7
    capacity.close()


def test_one_huge_document_leaves_a_debt_of_at_most_one_burst() -> None:
    clock = Clock()
    capacity = PreparationCapacity(PreparationLimits(share=0.5, burst=1.0), clock=clock)
    capacity.spent(60.0)
    clock.now += 2.01  # -1 back above 0 at 0.5 a second
    assert asyncio.run(capacity.run(lambda: "in")).result() == "in"
    capacity.close()


def test_the_price_is_points_a_millisecond() -> None:
    capacity = PreparationCapacity(PreparationLimits(points_per_ms=4.0))
    assert capacity.points(0.015) == 60
    assert capacity.points(0.0) == 0
    capacity.close()


async def test_beyond_the_queue_a_new_document_is_refused_at_once() -> None:
    capacity = PreparationCapacity(PreparationLimits(queue=2))
    release = asyncio.Event()
    loop = asyncio.get_running_loop()
    blocker = asyncio.ensure_future(
        capacity.run(lambda: asyncio.run_coroutine_threadsafe(release.wait(), loop).result())
    )
    second = asyncio.ensure_future(capacity.run(lambda: 2))
    await asyncio.sleep(0.05)
    with pytest.raises(Busy):
        await capacity.run(lambda: 3)
    release.set()
    await blocker
    assert (await second).result() == 2
    capacity.close()


async def test_a_refusal_is_timed_and_kept_for_the_caller_to_raise() -> None:
    capacity = PreparationCapacity()

    def refuse() -> int:
        raise ValueError("no")

    timed = await capacity.run(refuse)
    assert timed.seconds >= 0
    with pytest.raises(ValueError, match="no"):
        timed.result()
    capacity.close()


async def test_a_preparation_is_charged_its_cpu_time_not_the_time_it_waited() -> None:
    # waiting (here asleep; in the server, for the interpreter's lock while the loop serves
    # other clients, or for a core other processes hold) takes nothing from anyone
    capacity = PreparationCapacity()

    def wait_then_work() -> int:
        time.sleep(0.3)
        return sum(range(200_000))

    timed = await capacity.run(wait_then_work)
    assert timed.result() == sum(range(200_000))
    assert 0 < timed.seconds < 0.3
    capacity.close()


# through the pipeline


async def test_a_new_document_costs_its_client_the_time_it_took_and_a_repeat_nothing() -> None:
    budgets = Budgets(BudgetLimits(100_000, 1e-9))
    # a point a microsecond: any preparation costs something
    preparation = PreparationCapacity(PreparationLimits(points_per_ms=1_000.0))
    gateway = _gateway(budgets, preparation)
    query = _aliases(10)
    await gateway.prepare_for(query, None, "flooder")
    left = budgets.take("flooder", 0).currently_available
    assert left < 100_000
    await gateway.prepare_for(query, None, "flooder")
    assert budgets.take("flooder", 0).currently_available == left
    assert budgets.take("bystander", 0).currently_available == 100_000
    preparation.close()


async def test_a_refused_document_is_paid_for_too() -> None:
    budgets = Budgets(BudgetLimits(100_000, 1e-9))
    preparation = PreparationCapacity(PreparationLimits(points_per_ms=1_000.0))
    gateway = _gateway(budgets, preparation)
    with pytest.raises(RequestError) as refused:
        await gateway.prepare_for("{ products(limit: 1) { nope } }", None, "flooder")
    assert refused.value.errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert budgets.take("flooder", 0).currently_available < 100_000
    preparation.close()


async def test_a_client_with_an_empty_budget_is_refused_before_anything_is_parsed() -> None:
    budgets = Budgets(BudgetLimits(100, 1e-9))
    preparation = PreparationCapacity()
    gateway = _gateway(budgets, preparation)
    budgets.charge("flooder", 100)
    with pytest.raises(RateLimited):
        await gateway.prepare_for("{ this is not even GraphQL", None, "flooder")
    assert len(gateway.cache) == 0
    preparation.close()


async def test_when_the_share_is_used_up_a_new_document_is_busy_and_costs_a_typical_one() -> None:
    clock = Clock()
    budgets = Budgets(BudgetLimits(100_000, 1e-9))
    preparation = PreparationCapacity(
        PreparationLimits(points_per_ms=10.0, share=0.5, burst=1.0), clock=clock
    )
    gateway = _gateway(budgets, preparation)
    preparation.spent(2.0)
    preparation.typical_seconds = 0.010
    with pytest.raises(GatewayBusy) as busy:
        await gateway.prepare_for(_aliases(3), None, "flooder")
    assert busy.value.errors[0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert busy.value.retry_after >= 1
    assert budgets.take("flooder", 0).currently_available == 100_000 - 100
    preparation.close()


async def test_a_prepared_document_runs_for_everyone_while_the_share_is_used_up() -> None:
    budgets = Budgets(BudgetLimits(100_000, 1e-9))
    preparation = PreparationCapacity(PreparationLimits(share=0.5, burst=1.0), clock=Clock())
    gateway = _gateway(budgets, preparation)
    query = _aliases(2)
    known = await gateway.prepare_for(query, None, "first")
    preparation.spent(2.0)
    assert await gateway.prepare_for(query, None, "other") is known
    preparation.close()


async def test_one_new_document_from_many_clients_at_once_is_prepared_once() -> None:
    budgets = Budgets(BudgetLimits(100_000, 1e-9))
    preparation = PreparationCapacity(PreparationLimits(points_per_ms=1_000.0, queue=1))
    gateway = _gateway(budgets, preparation)
    query = _aliases(20)
    prepared = await asyncio.gather(
        *(gateway.prepare_for(query, None, f"client {n}") for n in range(50))
    )
    assert all(p is prepared[0] for p in prepared)  # none refused for the queue of 1
    paid = [n for n in range(50) if budgets.take(f"client {n}", 0).currently_available < 100_000]
    assert len(paid) == 1
    preparation.close()


async def test_the_first_clients_own_refusal_is_not_shared_with_the_others() -> None:
    budgets = Budgets(BudgetLimits(100, 1e-9))
    preparation = PreparationCapacity()
    gateway = _gateway(budgets, preparation)
    budgets.charge("broke", 100)
    query = _aliases(2)
    broke, other = await asyncio.gather(
        gateway.prepare_for(query, None, "broke"),
        gateway.prepare_for(query, None, "other"),
        return_exceptions=True,
    )
    assert isinstance(broke, RateLimited)
    assert not isinstance(other, BaseException)
    preparation.close()


def _counted_pages(count: int, offset: int) -> str:
    """Over the cost limit whatever is sent: `count` pages each with a counted total."""
    fields = " ".join(
        f"a{n}: products(limit: 1, offset: {offset + n}) {{ total }}" for n in range(count)
    )
    return "{ " + fields + " }"


async def test_a_refused_document_leaves_no_syntax_tree_for_the_collector() -> None:
    """A document refused after validation (its cost) dies by reference counting: its
    syntax tree is not held in a reference cycle (validation's rules, an exception's frames)
    for a young collection to walk (a flood of them made collections of 100-300 ms)."""
    budgets = Budgets(BudgetLimits(10**9, 1e6))
    preparation = PreparationCapacity(PreparationLimits(points_per_ms=0.001))
    gateway = _gateway(budgets, preparation)
    await gateway.prepare_for(_aliases(2), None, "warm")  # modules and caches made once
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for round_ in range(3):
            with pytest.raises(RequestError) as refused:
                await gateway.prepare_for(_counted_pages(30, 100 * round_), None, "flooder")
            assert refused.value.errors[0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
            del refused
        gc.collect()
        syntax = [item for item in gc.garbage if isinstance(item, Node)]
        assert syntax == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        preparation.close()


async def test_a_refusal_leaves_no_frames_for_the_collector() -> None:
    """A refused document's error dies by reference counting, and with it the frames it was
    raised through: neither the preparing thread's (its work item holds the result holding
    the error) nor the event loop's (the coalescing future and the timed result hold it)
    stay in a reference cycle (a flood of refusals left hundreds of objects each)."""
    budgets = Budgets(BudgetLimits(10**9, 1e6))
    preparation = PreparationCapacity(PreparationLimits(points_per_ms=0.001))
    gateway = _gateway(budgets, preparation)
    await gateway.prepare_for(_aliases(2), None, "warm")
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for round_ in range(3):
            try:
                await gateway.prepare_for(_counted_pages(30, 100 * round_), None, "flooder")
            except RequestError as refused:
                assert refused.errors[0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
        gc.collect()
        kept = [
            item
            for item in gc.garbage
            if isinstance(item, types.FrameType | types.TracebackType | RequestError)
        ]
        assert kept == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        preparation.close()


def test_the_preparing_thread_gives_the_interpreter_back_within_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_PREPARATION_SWITCH_INTERVAL_MS", "2")
    settings = GatewaySettings(AUTH_JWT_SECRET="s" * 40)
    assert PreparationLimits().switch_interval == 0.0005  # a tenth of Python's default
    before = sys.getswitchinterval()
    try:
        share_the_interpreter(
            PreparationLimits(switch_interval=settings.preparation_switch_interval_ms / 1000)
        )
        assert sys.getswitchinterval() == pytest.approx(0.002)
    finally:
        sys.setswitchinterval(before)
