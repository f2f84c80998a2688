"""Listing orders: newest first, by status, in offset or keyset-cursor pages
(platform_kit.paging); the cursor's key is the last order's creation time."""

from __future__ import annotations

from datetime import datetime

from orders.domain.order import Order, OrderStatus
from platform_kit.paging import Cursor, PageRequest

__all__ = ["cursor_after", "listed_statuses", "page_request"]


def page_request(
    *, limit: int | None, offset: int | None, cursor: str | None
) -> PageRequest[datetime]:
    return PageRequest.create(
        limit=limit, offset=offset, cursor=cursor, parse_key=datetime.fromisoformat
    )


def cursor_after(order: Order, offset: int) -> Cursor[datetime]:
    return Cursor(key=order.created_at, last_id=order.id, offset=offset)


def listed_statuses(status: OrderStatus | None) -> set[OrderStatus]:
    """What a listing by a public status shows: a cancelling order is still pending."""
    if status is None:
        return {
            OrderStatus.PENDING,
            OrderStatus.CANCELLING,
            OrderStatus.COMPLETED,
            OrderStatus.CANCELLED,
        }
    if status is OrderStatus.PENDING:
        return {OrderStatus.PENDING, OrderStatus.CANCELLING}
    return {status}
