"""Turns at the database: bounded reads at once, the least-used client first, bounded waits."""

from __future__ import annotations

import asyncio
import time

import pytest
from pymongo.errors import ExecutionTimeout

from platform_kit.database_turns import DatabaseTurns, TurnRefused, database_turn, taking_turns


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def hold(
    turns: DatabaseTurns,
    client: str,
    release: asyncio.Event,
    log: list[str],
    label: str | None = None,
) -> None:
    async with turns.turn(client):
        log.append(label or client)
        await release.wait()


async def test_turns_are_taken_at_once_up_to_the_concurrency_then_waited_for() -> None:
    turns = DatabaseTurns(2)
    release = asyncio.Event()
    log: list[str] = []
    holders = [asyncio.create_task(hold(turns, f"c{n}", release, log)) for n in range(3)]
    await settle()
    assert log == ["c0", "c1"]
    assert turns.waiting_count == 1
    release.set()
    await asyncio.gather(*holders)
    assert log == ["c0", "c1", "c2"]
    assert turns.free == 2 and turns.waiting_count == 0 and not turns.waiting


async def test_the_least_used_client_goes_first_whoever_asked_first() -> None:
    clock = Clock()
    turns = DatabaseTurns(1, clock=clock)
    # the flood held turns for 3 s lately; the person for 0.01 s
    turns._record("flood", 3.0)
    turns._record("person", 0.01)
    release = asyncio.Event()
    log: list[str] = []
    first = asyncio.create_task(hold(turns, "flood", release, log))
    await settle()
    waiting = [asyncio.create_task(hold(turns, "flood", release, log)) for _ in range(3)]
    await settle()
    waiting.append(asyncio.create_task(hold(turns, "person", release, log)))
    await settle()
    release.set()
    await asyncio.gather(first, *waiting)
    assert log == ["flood", "person", "flood", "flood", "flood"]


async def test_usage_fades_so_a_client_that_stopped_is_not_held_back() -> None:
    clock = Clock()
    turns = DatabaseTurns(1, half_life=1.0, clock=clock)
    turns._record("was-busy", 8.0)
    turns._record("steady", 0.5)
    assert turns.used("was-busy") > turns.used("steady")
    clock.now += 5  # 8 s halved five times: 0.25 s; 0.5 s: 0.016 s
    assert turns.used("was-busy") == pytest.approx(0.25)
    turns._record("steady", 0.5)
    assert turns.used("was-busy") < turns.used("steady")


async def test_one_clients_reads_keep_their_order() -> None:
    turns = DatabaseTurns(1)
    release = asyncio.Event()
    log: list[str] = []
    first = asyncio.create_task(hold(turns, "a", release, log, "first"))
    await settle()
    rest = []
    for n in range(3):
        rest.append(asyncio.create_task(hold(turns, "a", release, log, f"then{n}")))
        await settle()
    release.set()
    await asyncio.gather(first, *rest)
    assert log == ["first", "then0", "then1", "then2"]


async def test_a_wait_past_the_deadline_fails_as_a_database_timeout_and_is_forgotten() -> None:
    turns = DatabaseTurns(1)
    release = asyncio.Event()
    holder = asyncio.create_task(hold(turns, "flood", release, []))
    await settle()
    with pytest.raises(ExecutionTimeout) as refused:
        async with turns.turn("person", deadline=time.monotonic() + 0.02):
            pytest.fail("no turn was free")
    assert isinstance(refused.value, TurnRefused)
    assert "deadline" in str(refused.value)
    assert turns.waiting_count == 0 and not turns.waiting
    release.set()
    await holder
    assert turns.free == 1


async def test_a_reader_that_leaves_while_waiting_gives_up_its_place() -> None:
    turns = DatabaseTurns(1)
    release = asyncio.Event()
    log: list[str] = []
    holder = asyncio.create_task(hold(turns, "a", release, log))
    await settle()
    leaving = asyncio.create_task(hold(turns, "b", release, log))
    staying = asyncio.create_task(hold(turns, "c", release, log))
    await settle()
    leaving.cancel()
    await settle()
    assert turns.waiting_count == 1
    release.set()
    await asyncio.gather(holder, staying)
    assert log == ["a", "c"]
    assert turns.free == 1


class TurnHeldByHand:
    """One turn of one, held by the test itself: freed exactly when the test says, with no
    other task run in between."""

    def __init__(self) -> None:
        self.turns = DatabaseTurns(1)
        self.release = asyncio.Event()
        self.release.set()
        self.log: list[str] = []
        self._held = self.turns.turn("holder")

    async def take(self) -> None:
        await self._held.__aenter__()

    async def free(self) -> None:
        await self._held.__aexit__(None, None, None)

    def reader(self, client: str) -> asyncio.Task[None]:
        return asyncio.create_task(hold(self.turns, client, self.release, self.log))


async def test_a_turn_given_to_a_reader_that_is_leaving_passes_to_the_next() -> None:
    by_hand = TurnHeldByHand()
    turns, log = by_hand.turns, by_hand.log
    await by_hand.take()
    leaving = by_hand.reader("b")
    staying = by_hand.reader("c")
    await settle()
    await by_hand.free()  # the turn is now "b"'s, which has not run yet
    leaving.cancel()
    await asyncio.gather(staying)
    await asyncio.gather(leaving, return_exceptions=True)
    assert log == ["c"]
    assert turns.free == 1 and turns.waiting_count == 0


async def test_a_turn_freed_just_after_a_waiter_was_cancelled_is_not_lost() -> None:
    by_hand = TurnHeldByHand()
    turns, log = by_hand.turns, by_hand.log
    await by_hand.take()
    cancelled = by_hand.reader("b")
    await settle()
    cancelled.cancel()  # its future is cancelled now; its task forgets it only when it runs
    await by_hand.free()
    await asyncio.gather(cancelled, return_exceptions=True)
    assert log == []
    assert turns.free == 1 and turns.waiting_count == 0 and not turns.waiting


async def test_too_many_waiting_reads_are_refused_at_once() -> None:
    turns = DatabaseTurns(1, max_waiting=2)
    release = asyncio.Event()
    tasks = [asyncio.create_task(hold(turns, f"c{n}", release, [])) for n in range(3)]
    await settle()
    with pytest.raises(TurnRefused, match="waiting"):
        async with turns.turn("late"):
            pytest.fail("refused")
    release.set()
    await asyncio.gather(*tasks)


async def test_reads_outside_a_request_take_no_turn_and_inside_take_the_requests() -> None:
    turns = DatabaseTurns(1)
    release = asyncio.Event()
    holder = asyncio.create_task(hold(turns, "flood", release, []))
    await settle()
    async with database_turn():  # upkeep, an import: no turn, no wait
        pass
    order: list[str] = []

    async def request() -> None:
        with taking_turns(turns, "person", None):
            async with database_turn():
                order.append("person")

    reading = asyncio.create_task(request())
    await settle()
    assert order == [] and turns.waiting_count == 1
    release.set()
    await asyncio.gather(holder, reading)
    assert order == ["person"]
    assert turns.used("person") >= 0 and turns.free == 1


async def test_what_it_remembers_of_clients_is_bounded() -> None:
    clock = Clock()
    turns = DatabaseTurns(1, clock=clock)
    for n in range(5000):
        turns._record(f"c{n}", 0.001)
        clock.now += 0.01
    assert len(turns.usage) <= 4097


def test_a_concurrency_under_one_is_refused() -> None:
    with pytest.raises(ValueError):
        DatabaseTurns(0)
