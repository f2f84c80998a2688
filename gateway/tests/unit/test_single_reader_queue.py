"""SingleReaderQueue on its own (no I/O): order, a waiting reader woken by a put or by the
end, no future made while items wait, a cancelled reader leaving the queue usable, and
nothing per instance beyond its two slots."""

from __future__ import annotations

import asyncio

import pytest

from gateway.single_reader_queue import END, SingleReaderQueue


async def _waiting(queue: SingleReaderQueue[int]) -> asyncio.Task[int | object]:
    """A reader task, run until it waits on the empty queue."""
    reader: asyncio.Task[int | object] = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not reader.done()
    return reader


async def test_items_come_out_in_the_order_they_were_put() -> None:
    queue: SingleReaderQueue[int] = SingleReaderQueue()
    for item in (3, 1, 2):
        queue.put(item)
    assert queue.pending == 3 and not queue.empty()
    assert [await queue.get() for _ in range(3)] == [3, 1, 2]
    assert queue.pending == 0 and queue.empty()


async def test_the_deque_is_dropped_once_emptied() -> None:
    queue: SingleReaderQueue[int] = SingleReaderQueue()
    queue.put(1)
    await queue.get()
    assert queue._items is None  # an empty deque is not held while nothing waits


async def test_a_waiting_reader_is_woken_by_a_put() -> None:
    queue: SingleReaderQueue[int] = SingleReaderQueue()
    reader = await _waiting(queue)
    assert queue.put(7) is True  # the reader waited: it was told
    assert await reader == 7
    assert queue._waiter is None


async def test_put_says_when_no_reader_waits() -> None:
    queue: SingleReaderQueue[int] = SingleReaderQueue()
    assert queue.put(1) is False
    assert queue.put_end() is False


async def test_a_reader_woken_but_not_back_yet_is_not_told_twice() -> None:
    queue: SingleReaderQueue[int] = SingleReaderQueue()
    reader = await _waiting(queue)
    assert queue.put(1) is True
    assert queue.put(2) is True  # its future is done already: set once only
    assert await reader == 1
    assert await queue.get() == 2


async def test_the_end_wakes_a_waiting_reader_and_stays() -> None:
    queue: SingleReaderQueue[int] = SingleReaderQueue()
    reader = await _waiting(queue)
    assert queue.put_end() is True
    assert await reader is END
    assert await queue.get() is END  # asked again: the end again, not a wait
    assert queue.pending == 1


async def test_the_end_comes_after_what_was_queued_and_only_once() -> None:
    queue: SingleReaderQueue[int] = SingleReaderQueue()
    queue.put(1)
    queue.put_end()
    queue.put_end()
    assert queue.pending == 2
    assert await queue.get() == 1
    assert await queue.get() is END


async def test_no_future_is_made_while_items_wait() -> None:
    queue: SingleReaderQueue[int] = SingleReaderQueue()
    queue.put(1)
    queue.put(2)
    loop = asyncio.get_running_loop()
    made: list[asyncio.Future[object]] = []
    create_future = loop.create_future

    def counting() -> asyncio.Future[object]:
        future = create_future()
        made.append(future)
        return future

    loop.create_future = counting  # type: ignore[method-assign]
    try:
        assert await queue.get() == 1
        assert await queue.get() == 2
        assert made == []
        reader = await _waiting(queue)  # empty now: the reader waits on a future
        assert len(made) == 1
        queue.put(3)
        assert await reader == 3
    finally:
        del loop.create_future


async def test_a_cancelled_reader_leaves_the_queue_usable() -> None:
    queue: SingleReaderQueue[int] = SingleReaderQueue()
    reader = await _waiting(queue)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert queue._waiter is None
    assert queue.put(4) is False  # nobody waits any more
    assert await queue.get() == 4
    again = await _waiting(queue)
    queue.put(5)
    assert await again == 5


async def test_a_reader_cancelled_after_being_woken_loses_no_item() -> None:
    queue: SingleReaderQueue[int] = SingleReaderQueue()
    reader = await _waiting(queue)
    queue.put(6)
    reader.cancel()  # before it ran again to take the item
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert await queue.get() == 6


def test_instances_hold_their_slots_only() -> None:
    class Bounded(SingleReaderQueue[int]):
        __slots__ = ("bound",)

    assert not hasattr(SingleReaderQueue(), "__dict__")
    assert not hasattr(Bounded(), "__dict__")
