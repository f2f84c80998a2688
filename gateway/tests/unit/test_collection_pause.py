"""Collections paused while a new document is prepared or planned (collection.py): off
inside, back on when the last one leaves, and left off if they were off before."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from gateway.federation.collection import collections_paused


@pytest.fixture(autouse=True)
def _restore_collections() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_collections_are_off_inside_and_back_on_after() -> None:
    gc.enable()
    with collections_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_they_resume_when_the_last_of_several_threads_leaves() -> None:
    gc.enable()
    inside, leave = threading.Event(), threading.Event()

    def prepare() -> None:
        with collections_paused():
            inside.set()
            leave.wait(5)

    other = threading.Thread(target=prepare)
    other.start()
    assert inside.wait(5)
    with collections_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread is still inside
    leave.set()
    other.join(5)
    assert gc.isenabled()


def test_collections_off_before_stay_off_and_an_error_still_leaves() -> None:
    gc.disable()
    with collections_paused():
        pass
    assert not gc.isenabled()
    gc.enable()
    with pytest.raises(ValueError), collections_paused():
        raise ValueError("refused")
    assert gc.isenabled()
