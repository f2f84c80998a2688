"""Identical work in flight is done once; callers never cancel one another's work."""

from __future__ import annotations

import asyncio

import pytest

from gateway.federation.inflight import InflightDeduplicator


async def test_callers_with_one_key_share_one_run_and_other_keys_run_apart() -> None:
    runs: list[str] = []
    release = asyncio.Event()

    async def work(key: str) -> str:
        runs.append(key)
        await release.wait()
        return f"answer {key}"

    inflight: InflightDeduplicator[str] = InflightDeduplicator()
    callers = [
        asyncio.ensure_future(inflight.run(key, lambda key=key: work(key)))
        for key in ("a", "a", "b", "a")
    ]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*callers) == ["answer a", "answer a", "answer b", "answer a"]
    assert sorted(runs) == ["a", "b"]
    assert inflight.shared == 2
    assert len(inflight) == 0  # nothing is kept once answered
    assert await inflight.run("a", lambda: work("a")) == "answer a"
    assert runs.count("a") == 2  # a later call runs again: only work in flight is shared


async def test_an_error_reaches_every_caller() -> None:
    async def fail() -> str:
        await asyncio.sleep(0)
        raise ValueError("boom")

    inflight: InflightDeduplicator[str] = InflightDeduplicator()
    results = await asyncio.gather(
        inflight.run("k", fail), inflight.run("k", fail), return_exceptions=True
    )
    assert [type(r) for r in results] == [ValueError, ValueError]


async def test_a_cancelled_caller_does_not_cancel_the_work_others_wait_for() -> None:
    release = asyncio.Event()

    async def work() -> int:
        await release.wait()
        return 42

    inflight: InflightDeduplicator[int] = InflightDeduplicator()
    leader = asyncio.ensure_future(inflight.run("k", work))
    follower = asyncio.ensure_future(inflight.run("k", work))
    await asyncio.sleep(0)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    release.set()
    assert await follower == 42


async def test_work_that_nobody_waits_for_any_more_is_cancelled() -> None:
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def work() -> int:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return 42

    inflight: InflightDeduplicator[int] = InflightDeduplicator()
    callers = [asyncio.ensure_future(inflight.run("k", work)) for _ in range(2)]
    await started.wait()
    callers[0].cancel()
    await asyncio.sleep(0)
    assert cancelled == []  # one caller still waits
    callers[1].cancel()
    await asyncio.gather(*callers, return_exceptions=True)
    await asyncio.sleep(0)
    assert cancelled == [True]
    assert len(inflight) == 0
