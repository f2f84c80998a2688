"""Each client's budget is a leaky bucket on an injected clock; clients are told apart by
token `sub`, else by address (X-Forwarded-For only from a trusted proxy). No I/O, no sleeps."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

import pytest

from gateway.entrypoints.client_identity import ClientIdentity
from gateway.federation.budget import BudgetLimits, Budgets, OverBudget
from platform_kit.auth import Principal, Role


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _budgets(clock: Clock, maximum: int = 100, rate: float = 10.0, clients: int = 10) -> Budgets:
    return Budgets(BudgetLimits(maximum, rate, clients), clock=clock)


def test_a_new_client_starts_with_a_full_bucket_and_pays_up_front(clock: Clock) -> None:
    budgets = _budgets(clock)
    status = budgets.take("a", 30)
    assert (status.maximum_available, status.currently_available, status.restore_rate) == (
        100,
        70,
        10.0,
    )
    assert budgets.take("a", 70).currently_available == 0


def test_over_budget_nothing_is_taken_and_retry_after_is_when_enough_is_back(
    clock: Clock,
) -> None:
    budgets = _budgets(clock)
    budgets.take("a", 95)
    with pytest.raises(OverBudget) as refused:
        budgets.take("a", 50)  # 5 left: 45 missing at 10 a second
    assert refused.value.retry_after == 5
    assert refused.value.status.currently_available == 5
    clock.now += 4
    with pytest.raises(OverBudget):
        budgets.take("a", 50)
    clock.now += 0.5
    assert budgets.take("a", 50).currently_available == 0


def test_the_bucket_refills_at_the_restore_rate_up_to_its_maximum(clock: Clock) -> None:
    budgets = _budgets(clock)
    budgets.take("a", 100)
    clock.now += 3
    assert budgets.take("a", 0).currently_available == 30
    clock.now += 3_600
    assert budgets.take("a", 0).currently_available == 100


def test_retry_after_is_at_least_a_second(clock: Clock) -> None:
    budgets = _budgets(clock, rate=1_000)
    budgets.take("a", 100)
    with pytest.raises(OverBudget) as refused:
        budgets.take("a", 1)
    assert refused.value.retry_after == 1


def test_clients_have_buckets_of_their_own(clock: Clock) -> None:
    budgets = _budgets(clock)
    budgets.take("a", 100)
    assert budgets.take("b", 100).currently_available == 0


def test_the_buckets_kept_are_bounded_and_the_least_recently_seen_go_first(
    clock: Clock,
) -> None:
    budgets = _budgets(clock, clients=3)
    for client in ("a", "b", "c"):
        budgets.take(client, 100)
    budgets.take("a", 0)  # seen again
    for number in range(1_000):
        with pytest.raises(OverBudget):
            budgets.take("a", 1)
        budgets.take(f"flood-{number}", 1)
        assert len(budgets) <= 3
    # "a" was seen at every turn: never forgotten, so never given a fresh bucket
    assert "b" not in budgets._buckets and "a" in budgets._buckets


def _scope(peer: str, forwarded: str | None = None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return {"client": (peer, 50_000), "headers": headers}


def test_a_signed_in_client_is_its_sub_wherever_it_calls_from() -> None:
    identity = ClientIdentity()
    alice = Principal("alice", Role.CUSTOMER)
    assert identity.of(_scope("127.0.0.2"), alice) == identity.of(_scope("10.0.0.9"), alice)
    assert identity.of(_scope("127.0.0.2"), alice) == "sub:alice"


def test_an_anonymous_client_is_its_peer_and_x_forwarded_for_is_ignored_by_default() -> None:
    identity = ClientIdentity()
    assert identity.of(_scope("127.0.0.2"), None) == "addr:127.0.0.2"
    assert identity.of(_scope("127.0.0.2", "1.2.3.4"), None) == "addr:127.0.0.2"


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),
        # what a client wrote itself, left of the proxies' own entries, is not believed
        ("10.0.0.5", "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        ("10.0.0.5", "6.6.6.6, 203.0.113.7, 10.0.0.4", "203.0.113.7"),
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", "not-an-address", "10.0.0.5"),
        ("192.0.2.1", "203.0.113.7", "192.0.2.1"),  # not a trusted proxy
    ],
)
def test_x_forwarded_for_names_the_client_only_behind_a_trusted_proxy(
    peer: str, forwarded: str, client: str
) -> None:
    identity = ClientIdentity([ip_network("10.0.0.0/24")])
    assert identity.of(_scope(peer, forwarded), None) == f"addr:{client}"
