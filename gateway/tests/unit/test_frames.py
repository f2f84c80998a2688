"""An error the gateway turns into words leaves nothing for the garbage collector: not its
frames, nor what their locals held (frames.py; issue 18)."""

from __future__ import annotations

import asyncio
import gc
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from graphql import build_schema, parse

from gateway.federation.frames import let_go
from gateway.federation.shaping import shape


@contextmanager
def _cyclic_garbage() -> Iterator[list[Any]]:
    """What became garbage in reference cycles within the block."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    found: list[Any] = []
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def _frames(objects: list[Any]) -> list[Any]:
    return [o for o in objects if isinstance(o, types.FrameType | types.TracebackType)]


class _Failed(Exception):
    pass


async def _coalesced(fail: Callable[[], None]) -> BaseException:
    """An error kept by a future that another caller waits on, as inflight.py does: the
    future holds the error, the error its frames, the frame the future."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        fail()
    except _Failed as error:
        future.set_exception(error)
        future.exception()
        return error
    raise AssertionError("fail() did not fail")


def _fail() -> None:
    try:
        raise KeyError("inner")
    except KeyError:
        raise _Failed("outer") from None


async def test_an_error_let_go_leaves_no_frames_in_cycles() -> None:
    with _cyclic_garbage() as garbage:
        error = await _coalesced(_fail)
        let_go(error)
        del error
    assert _frames(garbage) == []


async def test_without_let_go_the_same_error_is_left_to_the_collector() -> None:
    # the check above can fail: the same error kept as it was stays in a cycle
    with _cyclic_garbage() as garbage:
        error = await _coalesced(_fail)
        del error
    assert _frames(garbage) != []


def test_a_null_where_none_may_be_leaves_no_frames_in_cycles() -> None:
    # graphql-core keeps the error it raised through the execution's frames; the shaped
    # result carries it (a subgraph that failed: its field is null)
    schema = build_schema("type Query { products: Page! } type Page { total: Int }")
    document = parse("{ products { total } }")
    shape(schema, document, {"products": None}, None, None)  # modules loaded once
    with _cyclic_garbage() as garbage:
        result = shape(schema, document, {"products": None}, None, None)
        assert result.errors and "Cannot return null" in result.errors[0].message
        del result
    assert _frames(garbage) == []
