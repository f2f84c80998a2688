"""The rules of capacity, without I/O: who holds which slots, which client a request is for,
and how long a request's database work may take."""

from __future__ import annotations

from typing import Any

import pytest

from platform_kit.admission import AdmissionLimits, InFlightSlots
from platform_kit.auth import Principal, Role
from platform_kit.clients import client_key, signed_client_headers
from platform_kit.deadline import request_budget

SECRET = "s" * 40


def _greedy(slots: InFlightSlots, client: str) -> int:
    """Takes slots for `client` until refused; how many it got."""
    taken = 0
    while slots.try_take(client):
        taken += 1
    return taken


def test_a_client_holds_at_most_its_share_and_another_client_still_gets_in() -> None:
    slots = InFlightSlots(AdmissionLimits(limit=2, share=0.5))
    assert _greedy(slots, "a") == 1
    assert slots.try_take("b")
    assert not slots.try_take("c")  # full
    slots.give_back("a")
    assert slots.try_take("a")


def test_the_busiest_clients_leave_room_for_a_newcomer() -> None:
    slots = InFlightSlots(AdmissionLimits(limit=10, share=0.5))
    assert _greedy(slots, "a") == 5  # alone, a client gets its whole share
    assert _greedy(slots, "b") == 3  # holding more, it must leave more room free
    assert slots.try_take("newcomer")
    assert slots.total == 9


def test_slots_given_back_are_forgotten() -> None:
    slots = InFlightSlots(AdmissionLimits(limit=4, share=0.5))
    assert slots.try_take("a")
    slots.give_back("a")
    assert slots.held == {}
    assert slots.total == 0


def _scope(headers: dict[str, str], principal: Principal | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.7", 5555),
        "state": {"principal": principal},
    }


def test_a_client_is_its_sub_else_its_address() -> None:
    assert client_key(_scope({}), SECRET) == "addr:127.0.0.7"
    alice = Principal("alice", Role.CUSTOMER)
    assert client_key(_scope({}, alice), SECRET) == "sub:alice"


def test_a_forwarded_client_counts_only_when_signed_with_the_platform_secret() -> None:
    signed = signed_client_headers("addr:10.1.2.3", SECRET)
    assert client_key(_scope(signed), SECRET) == "addr:10.1.2.3"
    forged = signed_client_headers("addr:10.1.2.3", "f" * 40)
    assert client_key(_scope(forged), SECRET) == "addr:127.0.0.7"
    unsigned = {"X-Client-Key": "addr:10.1.2.3"}
    assert client_key(_scope(unsigned), SECRET) == "addr:127.0.0.7"


@pytest.mark.parametrize(
    ("header", "budget"),
    [
        (None, 4.5),
        ("1000", 1.0),  # the caller waits less: its bound
        ("60000", 4.5),  # the caller would wait longer: ours
        ("0", 0.001),  # never "no bound" (PyMongo reads a zero timeout as none)
        ("-5", 4.5),
        ("1.5", 4.5),
        ("١٢", 4.5),
        ("9" * 40, 4.5),
    ],
)
def test_a_requests_database_budget_is_the_shorter_of_ours_and_the_callers(
    header: str | None, budget: float
) -> None:
    assert request_budget(header, 4.5) == budget
