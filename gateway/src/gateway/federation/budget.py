"""Each client's budget of query cost: a leaky bucket, as Shopify's GraphQL APIs keep one.
A bucket holds at most `maximum_available` points and is refilled at `restore_rate` points a
second; an operation takes its requested cost up front, or is refused whole, with the
seconds until enough is restored. Buckets live in a bounded LRU: a client not seen for a
while (its bucket long full again) is forgotten first, so many addresses cannot grow the
gateway's memory."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["BudgetLimits", "Budgets", "OverBudget", "ThrottleStatus"]


@dataclass(frozen=True)
class BudgetLimits:
    # As Shopify's larger plans: a person's heaviest ordinary request (a page of 100
    # products with its total and a text filter) costs about 200, so ten come at once and
    # then one every two seconds; a page of 20 costs about 70 (GET /products). A client
    # flooding the costliest operation one may send (1,000: GATEWAY_MAX_COST) gets two at
    # once and then one every 10 s.
    maximum_available: int = 2_000
    restore_rate: float = 100.0  # points a second
    max_clients: int = 100_000  # buckets kept (about 200 bytes each: 20 MB at most)
    # A refusal for want of budget (or of the gateway's time) is answered after at most
    # this long (never after its Retry-After): a client sending back to back is slowed to
    # one request a second per connection, instead of making the gateway refuse it a
    # thousand times a second. A client that honours Retry-After never notices.
    hold_refusals: float = 1.0


@dataclass(frozen=True)
class ThrottleStatus:
    maximum_available: int
    currently_available: int
    restore_rate: float

    def extension(self, requested: int) -> dict[str, Any]:
        """`extensions.cost` of a GraphQL answer, as Shopify's APIs name it."""
        return {
            "requestedQueryCost": requested,
            "throttleStatus": {
                "maximumAvailable": self.maximum_available,
                "currentlyAvailable": self.currently_available,
                "restoreRate": self.restore_rate,
            },
        }


class OverBudget(Exception):
    def __init__(self, requested: int, status: ThrottleStatus, retry_after: int) -> None:
        super().__init__(f"cost {requested}: over budget, retry after {retry_after} s")
        self.requested = requested
        self.status = status
        self.retry_after = retry_after


class _Bucket:
    __slots__ = ("available", "updated")

    def __init__(self, available: float, updated: float) -> None:
        self.available = available
        self.updated = updated


class Budgets:
    def __init__(
        self, limits: BudgetLimits | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits or BudgetLimits()
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, client: str, cost: int) -> ThrottleStatus:
        """Take `cost` from the client's bucket; OverBudget (nothing taken) when it holds
        less."""
        bucket = self._bucket(client)
        if bucket.available < cost:
            raise self._over(bucket, cost)
        bucket.available -= cost
        return self._status(bucket)

    def require_some(self, client: str) -> None:
        """OverBudget when the client's bucket is empty (a debt left by `charge`): the
        check made before work whose cost is known only once it is done."""
        bucket = self._bucket(client)
        if bucket.available < 1:
            raise self._over(bucket, 1)

    def charge(self, client: str, points: int) -> ThrottleStatus:
        """Take `points` for work already done, even past empty: the bucket owes at most
        one full budget, which its refill repays before the client's next request."""
        bucket = self._bucket(client)
        bucket.available = max(-self.limits.maximum_available, bucket.available - points)
        return self._status(bucket)

    def _bucket(self, client: str) -> _Bucket:
        """The client's bucket, refilled for the time since it was last seen."""
        limits = self.limits
        now = self.clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(limits.maximum_available, now)
            if len(self._buckets) > limits.max_clients:
                self._buckets.popitem(last=False)
            return bucket
        self._buckets.move_to_end(client)
        restored = (now - bucket.updated) * limits.restore_rate
        bucket.available = min(limits.maximum_available, bucket.available + restored)
        bucket.updated = now
        return bucket

    def _over(self, bucket: _Bucket, cost: int) -> OverBudget:
        missing = cost - bucket.available
        retry_after = max(1, math.ceil(missing / self.limits.restore_rate))
        return OverBudget(cost, self._status(bucket), retry_after)

    def _status(self, bucket: _Bucket) -> ThrottleStatus:
        return ThrottleStatus(
            self.limits.maximum_available,
            max(0, math.floor(bucket.available)),
            self.limits.restore_rate,
        )
