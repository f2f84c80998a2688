"""Order use cases.

The order of writes, and why every crash leaves something the reconciler can settle:
1. create: the order is written first as `reserving` (id = reservation id) -> the inventory
   reserves under that id -> the order becomes `pending` with the copied names and prices.
   A crash after 1 leaves a `reserving` order, hidden from clients; the reconciler releases
   its reservation at the inventory (a no-op or a tombstone if nothing was reserved) and
   marks it `failed`. No units are ever held without an order record naming them.
2. cancel: `pending` -> `cancelling` (compare-and-set, so one caller wins) -> the inventory
   releases (idempotent: units back exactly once) -> `cancelled`. A crash in between leaves
   `cancelling`, which any later cancel or the reconciler finishes.
3. complete: `pending` -> `completed`, then the reservation is committed (best effort: a
   committed and an uncommitted reservation hold the same units; commit only forbids a
   later release).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta

from orders.adapters.ports import InventoryPort, OrderRepository, SlotTaken
from orders.domain.errors import (
    IdempotencyKeyReused,
    InventoryUnavailable,
    OrderNotFound,
    TooManyOpenOrders,
    TransitionNotAllowed,
)
from orders.domain.listing import cursor_after, listed_statuses, page_request
from orders.domain.order import (
    Order,
    OrderLine,
    OrderStatus,
    RequestedLine,
    StatusChange,
    fingerprint,
    merge_lines,
    validate_idempotency_key,
)
from platform_kit.auth import Principal, Role
from platform_kit.clock import Clock, utcnow
from platform_kit.errors import DomainError, Forbidden, Unauthenticated
from platform_kit.paging import Page
from platform_kit.stock import InsufficientStock, UnknownProducts

__all__ = ["FaultHook", "Orders", "caller"]

log = logging.getLogger(__name__)
FaultHook = Callable[[str], None]
WAIT_POLL_SECONDS = 0.05


def _no_fault(_: str) -> None:
    return None


def caller(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthenticated()
    if principal.role not in (Role.CUSTOMER, Role.ADMIN):
        raise Forbidden("orders are for customers and admins")
    return principal


class Orders:
    def __init__(
        self,
        repository: OrderRepository,
        inventory: InventoryPort,
        *,
        clock: Clock = utcnow,
        fault: FaultHook = _no_fault,
        in_flight_wait: timedelta = timedelta(seconds=10),
        max_open_orders: int = 20,
    ) -> None:
        self.repository = repository
        self.inventory = inventory
        self.clock = clock
        self.fault = fault
        self.in_flight_wait = in_flight_wait
        self.max_open_orders = max_open_orders

    async def create(
        self,
        principal: Principal | None,
        lines: list[RequestedLine],
        idempotency_key: str | None = None,
    ) -> Order:
        user = caller(principal)
        merged = merge_lines(lines)
        key = validate_idempotency_key(idempotency_key)
        request_print = fingerprint(merged)
        if key is not None:
            earlier = await self.repository.find_by_key(user.sub, key)
            if earlier is not None:
                return await self._replay(earlier, request_print)
        now = self.clock()
        in_use: set[int] | None = None
        for slot in range(self.max_open_orders):
            if in_use is not None and slot in in_use:
                continue
            order = Order(
                id=self.repository.next_id(),
                user_id=user.sub,
                status=OrderStatus.RESERVING,
                requested=tuple(merged),
                fingerprint=request_print,
                created_at=now,
                updated_at=now,
                idempotency_key=key,
                slot=slot,
            )
            try:
                earlier = await self.repository.insert(order)
            except SlotTaken:
                # another open order holds it: the next free one, up to the limit (read
                # once, so a customer with many open orders costs one read, not one try each)
                if in_use is None:
                    in_use = await self.repository.slots_in_use(user.sub)
                continue
            if earlier is None:
                return await self._reserve(order)
            # A concurrent request with the same key won the insert: replay its outcome.
            return await self._replay(earlier, request_print)
        raise TooManyOpenOrders(self.max_open_orders)

    async def _replay(self, earlier: Order, request_print: str) -> Order:
        if earlier.fingerprint != request_print:
            raise IdempotencyKeyReused()
        deadline = self.clock() + self.in_flight_wait
        order: Order | None = earlier
        while order is not None and order.status is OrderStatus.RESERVING:
            if self.clock() > deadline:
                raise InventoryUnavailable()
            await asyncio.sleep(WAIT_POLL_SECONDS)
            order = await self.repository.get(earlier.id)
        if order is None or order.status is OrderStatus.FAILED:
            # The first attempt took nothing; the key is free again.
            raise InventoryUnavailable()
        return order

    async def _reserve(self, order: Order) -> Order:
        try:
            reserved = await self.inventory.reserve(order.id, list(order.requested))
            priced = order.priced(reserved)
        except InventoryUnavailable as unavailable:
            if not unavailable.maybe_reserved or await self._release_quietly(order.id):
                await self._fail(order)
            raise
        except (InsufficientStock, UnknownProducts):
            # The inventory refused the reservation as a whole and holds nothing under this
            # id: nothing to release (a flash sale's many refusals cost one call each).
            await self._fail(order)
            raise
        except DomainError:
            await self._release_quietly(order.id)
            await self._fail(order)
            raise
        self.fault("after_reserve")
        pending = await self._move(
            order.id, {OrderStatus.RESERVING}, OrderStatus.PENDING, priced.items, known=order
        )
        if pending is None:  # the reconciler judged us dead and released the units
            raise InventoryUnavailable()
        return pending

    async def _release_quietly(self, order_id: str) -> bool:
        try:
            await self.inventory.release(order_id)
        except DomainError as error:
            log.warning(
                "release failed; the reconciler will retry",
                extra={"order_id": order_id, "error": str(error)},
            )
            return False
        return True

    async def _fail(self, order: Order) -> None:
        await self._move(order.id, {OrderStatus.RESERVING}, OrderStatus.FAILED, known=order)

    async def get(self, principal: Principal | None, order_id: str) -> Order | None:
        user = caller(principal)
        order = await self.repository.get(order_id)
        if order is None or not order.visible_to(user.sub, user.is_admin):
            return None
        return order

    async def get_many(
        self, principal: Principal | None, order_ids: Iterable[str]
    ) -> dict[str, Order]:
        user = caller(principal)
        found = await self.repository.get_many(order_ids)
        return {oid: o for oid, o in found.items() if o.visible_to(user.sub, user.is_admin)}

    async def page(
        self,
        principal: Principal | None,
        *,
        status: OrderStatus | None,
        user_id: str | None,
        limit: int | None,
        offset: int | None,
        cursor: str | None,
    ) -> Page[Order]:
        user = caller(principal)
        if not user.is_admin:
            if user_id is not None and user_id != user.sub:
                raise Forbidden("customers may list only their own orders")
            user_id = user.sub
        statuses = listed_statuses(status)
        page = page_request(limit=limit, offset=offset, cursor=cursor)
        found = await self.repository.find_page(user_id=user_id, statuses=statuses, page=page)
        return Page.of(found.items, found.total, page, cursor_after, found.resume_after)

    async def update_status(
        self, principal: Principal | None, order_id: str, target: OrderStatus
    ) -> Order:
        user = caller(principal)
        order = await self.repository.get(order_id)
        if order is None or not order.visible_to(user.sub, user.is_admin):
            raise OrderNotFound(order_id)
        if target is OrderStatus.COMPLETED:
            if not user.is_admin:
                raise Forbidden("only an admin may complete an order")
            return await self._complete(order)
        if target is OrderStatus.CANCELLED:
            return await self._cancel(order)
        raise TransitionNotAllowed(order.status.public.value, target.value)

    async def _complete(self, order: Order) -> Order:
        order.check_transition(OrderStatus.COMPLETED)
        completed = await self._move(order.id, {OrderStatus.PENDING}, OrderStatus.COMPLETED)
        if completed is None:
            return await self._complete(await self._reload(order.id))
        try:
            await self.inventory.commit(order.id)
        except DomainError as error:
            log.warning(
                "commit failed; units stay sold", extra={"order_id": order.id, "error": str(error)}
            )
        return completed

    async def _cancel(self, order: Order) -> Order:
        order.check_transition(OrderStatus.CANCELLED)
        if order.status is OrderStatus.PENDING:
            marked = await self._move(order.id, {OrderStatus.PENDING}, OrderStatus.CANCELLING)
            if marked is None:  # someone else moved it first: decide again on what it is now
                return await self._cancel(await self._reload(order.id))
            self.fault("after_cancel_mark")
        return await self._finish_cancel(order.id)

    async def _finish_cancel(self, order_id: str) -> Order:
        await self.inventory.release(order_id)
        cancelled = await self._move(order_id, {OrderStatus.CANCELLING}, OrderStatus.CANCELLED)
        return cancelled or await self._reload(order_id)

    async def _move(
        self,
        order_id: str,
        from_statuses: set[OrderStatus],
        to: OrderStatus,
        items: tuple[OrderLine, ...] | None = None,
        known: Order | None = None,
    ) -> Order | None:
        change = StatusChange(from_statuses, to, self.clock(), items)
        return await self.repository.transition(order_id, change, known=known)

    async def _reload(self, order_id: str) -> Order:
        order = await self.repository.get(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    async def reconcile(self, grace: timedelta) -> int:
        """Bring orders and inventory back into agreement after a crash (see module doc).
        Only orders stuck for longer than `grace` are touched, so live requests finish first.
        Returns how many orders it settled."""
        settled = 0
        before = self.clock() - grace
        for order in await self.repository.stuck(
            {OrderStatus.RESERVING, OrderStatus.CANCELLING}, before
        ):
            try:
                await self.inventory.release(order.id)
            except DomainError as error:
                log.warning("reconcile: inventory unavailable", extra={"error": str(error)})
                return settled
            target = (
                OrderStatus.FAILED
                if order.status is OrderStatus.RESERVING
                else OrderStatus.CANCELLED
            )
            if await self._move(order.id, {order.status}, target):
                settled += 1
        return settled
