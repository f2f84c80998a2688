"""Which stored status counts make an order listing's total, pure."""

from __future__ import annotations

from orders.adapters.mongo_orders import listing_terms, status_scopes
from orders.domain.listing import listed_statuses
from orders.domain.order import OrderStatus


def test_an_order_is_counted_under_its_status_in_all_orders_and_in_its_customers() -> None:
    assert status_scopes("ann", OrderStatus.CANCELLING) == [
        "status:cancelling",
        "status:cancelling:user:ann",
    ]


def test_a_listing_total_sums_the_counts_of_the_statuses_it_shows() -> None:
    assert listing_terms(None, listed_statuses(OrderStatus.PENDING)) == {
        "status:pending": 1,
        "status:cancelling": 1,
    }
    assert listing_terms("bob", listed_statuses(OrderStatus.COMPLETED)) == {
        "status:completed:user:bob": 1
    }
    every = listing_terms("bob", listed_statuses(None))
    assert set(every) == {
        f"status:{status}:user:bob"
        for status in ("pending", "cancelling", "completed", "cancelled")
    }
