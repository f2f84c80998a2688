"""The REST routes of the contract. Each is a thin resolver: a fixed GraphQL operation run
in-process through the gateway's planner and executor (rest/deps.py); the answer becomes the
route's model, an error its problem. No rule is checked here that a subgraph already checks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response

from gateway.entrypoints.event_stream import EventStreamResponse
from gateway.rest.deps import ADMIN, SIGNED_IN, Ops, Paging, on_the_loop
from gateway.rest.models import (
    AMOUNT_PATTERN,
    OrderCreate,
    OrderPublic,
    OrderStatusUpdate,
    Page,
    Problem,
    ProductCreate,
    ProductPublic,
    ProductSortParam,
    ProductUpdate,
    StockAdjustment,
)
from gateway.rest.operations import (
    ADJUST_STOCK,
    CREATE_ORDER,
    CREATE_PRODUCT,
    DELETE_PRODUCT,
    GET_ORDER,
    GET_PRODUCT,
    LIST_ORDERS,
    LIST_PRODUCTS,
    ORDER_EVENTS,
    UPDATE_ORDER_STATUS,
    UPDATE_PRODUCT,
)
from gateway.rest.preconditions import versions_matched_by
from gateway.rest.problems import RestProblem, problem_from_errors

__all__ = ["router"]

PROBLEM = {"model": Problem, "content": {"application/problem+json": {}}}
DESCRIBED = {
    400: "Malformed JSON",
    401: "Missing or invalid token",
    403: "Not allowed for this role",
    404: "Not found",
    409: "Conflict",
    412: "If-Match names another version than the product's",
    413: "Body over 1 MiB",
    415: "Body is not application/json",
    422: "Invalid values",
    429: "Over the client's budget of query cost; Retry-After says when to try again",
    503: "A service is unavailable",
}


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The problems a route may answer; every route spends the client's budget (429)."""
    return {
        status: {**PROBLEM, "description": DESCRIBED[status]} for status in sorted({*statuses, 429})
    }


def _product(product: dict[str, Any], response: Response) -> ProductPublic:
    """A product with its ETag: its version, which every change moves on."""
    response.headers["ETag"] = f'"{product["version"]}"'
    return ProductPublic.model_validate(product)


async def _expected_version(ops: Ops, product_id: str, if_match: str | None) -> int | None:
    """The version an update must find, from If-Match: None when any will do. Of several
    tags, the one the product is at now (the update still holds to it, so a change in
    between is a 412 too)."""
    versions = versions_matched_by(if_match)
    if versions is None:
        return None
    if len(versions) > 1:
        current = (await ops.run(GET_PRODUCT, {"id": product_id}))["product"]
        version: int = _found("product", product_id, current)["version"]
        versions &= {version}
    if not versions:
        raise RestProblem(412, "If-Match names no version of this product", "PRECONDITION_FAILED")
    (version,) = versions
    return version


def _found(kind: str, ident: str, found: dict[str, Any] | None) -> dict[str, Any]:
    if found is None:
        raise RestProblem(404, f"{kind} {ident!r} not found", "NOT_FOUND")
    return found


# A price bound, as text: plain ASCII digits, checked by the pattern before anything
# computes with it, and passed on as GraphQL's Money takes it.
AMOUNT_QUERY = Query(description="Inclusive, e.g. 19.99", pattern=AMOUNT_PATTERN)
ProductId = Annotated[str, Path()]
OrderId = Annotated[str, Path()]
IF_MATCH = Header(
    description="The product's ETag as read (or a list of ETags, or *): 412 if it changed since",
)
IDEMPOTENCY_KEY = Header(
    description="Same key and body again returns the same order; 1 to 255 visible ASCII",
    pattern=r"^[\x21-\x7e]{1,255}$",
)


class ProductListing:
    """GET /products' filters and sort."""

    def __init__(
        self,
        q: Annotated[
            str | None, Query(max_length=200, description="Text in the name, taken literally")
        ] = None,
        category: str | None = None,
        min_price: Annotated[str | None, AMOUNT_QUERY] = None,
        max_price: Annotated[str | None, AMOUNT_QUERY] = None,
        in_stock: bool | None = None,
        sort: ProductSortParam = ProductSortParam.CREATED_AT_DESC,
    ) -> None:
        given = {
            "q": q,
            "category": category,
            "minPrice": min_price,
            "maxPrice": max_price,
            "inStock": in_stock,
        }
        self.filter = {name: value for name, value in given.items() if value is not None}
        self.sort = sort

    def variables(self) -> dict[str, Any]:
        return {"filter": self.filter, "sort": self.sort.to_graphql()}


class OrderListing:
    """GET /orders' filters."""

    def __init__(
        self,
        status: Annotated[str | None, Query(pattern="^(pending|completed|cancelled)$")] = None,
        user_id: Annotated[str | None, Query(description="Admins only")] = None,
    ) -> None:
        self.status = status
        self.user_id = user_id

    def variables(self) -> dict[str, Any]:
        return {"status": self.status.upper() if self.status else None, "userId": self.user_id}


products = APIRouter(tags=["products"])
orders = APIRouter(tags=["orders"], dependencies=SIGNED_IN)


@products.post(
    "/products",
    dependencies=ADMIN,
    status_code=201,
    summary="Create a product (admin)",
    responses=_responses(400, 401, 403, 409, 413, 415, 422, 503),
)
async def create_product(
    ops: Ops, body: Annotated[ProductCreate, Body()], response: Response
) -> ProductPublic:
    created = (await ops.run(CREATE_PRODUCT, {"input": body.graphql()}))["createProduct"]
    response.headers["Location"] = f"/products/{created['id']}"
    return _product(created, response)


@products.get(
    "/products/{product_id}",
    summary="A product",
    responses=_responses(404, 422, 503),
)
async def get_product(ops: Ops, product_id: ProductId, response: Response) -> ProductPublic:
    data = await ops.run(GET_PRODUCT, {"id": product_id})
    return _product(_found("product", product_id, data["product"]), response)


@products.patch(
    "/products/{product_id}",
    dependencies=ADMIN,
    summary="Change some fields of a product (admin); If-Match: the ETag you read",
    responses=_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 503),
)
async def update_product(
    ops: Ops,
    product_id: ProductId,
    body: Annotated[ProductUpdate, Body()],
    response: Response,
    if_match: Annotated[str | None, IF_MATCH] = None,
) -> ProductPublic:
    version = await _expected_version(ops, product_id, if_match)
    variables = {"id": product_id, "input": body.graphql(), "version": version}
    data = await ops.run(UPDATE_PRODUCT, variables)
    return _product(data["updateProduct"], response)


@products.post(
    "/products/{product_id}/stock-adjustments",
    dependencies=ADMIN,
    summary="Add to (or take from) the stock as it is, atomically (admin)",
    responses=_responses(400, 401, 403, 404, 413, 415, 422, 503),
)
async def adjust_stock(
    ops: Ops, product_id: ProductId, body: Annotated[StockAdjustment, Body()], response: Response
) -> ProductPublic:
    data = await ops.run(ADJUST_STOCK, {"id": product_id, "delta": body.delta})
    return _product(data["adjustStock"], response)


@products.delete(
    "/products/{product_id}",
    dependencies=ADMIN,
    status_code=204,
    summary="Delete a product (admin); orders keep their copy",
    responses=_responses(401, 403, 404, 422, 503),
)
async def delete_product(ops: Ops, product_id: ProductId) -> Response:
    await ops.run(DELETE_PRODUCT, {"id": product_id})
    return Response(status_code=204)


@products.get("/products", summary="A page of products", responses=_responses(422, 503))
async def list_products(
    ops: Ops,
    paging: Paging,
    listing: Annotated[ProductListing, Depends(on_the_loop(ProductListing))],
) -> Page[ProductPublic]:
    data = await ops.run(LIST_PRODUCTS, {**listing.variables(), **paging.variables()})
    return paging.page(Page[ProductPublic], data["products"])


@orders.post(
    "/orders",
    status_code=201,
    summary="Order products (customer or admin), all lines or none",
    responses=_responses(400, 401, 403, 409, 413, 415, 422, 503),
)
async def create_order(
    ops: Ops,
    body: Annotated[OrderCreate, Body()],
    response: Response,
    idempotency_key: Annotated[str | None, IDEMPOTENCY_KEY] = None,
) -> OrderPublic:
    variables = {"input": body.graphql(), "key": idempotency_key}
    order = OrderPublic.model_validate((await ops.run(CREATE_ORDER, variables))["createOrder"])
    response.headers["Location"] = f"/orders/{order.id}"
    return order


@orders.get(
    "/orders/{order_id}",
    summary="An order (owner or admin)",
    responses=_responses(401, 403, 404, 422, 503),
)
async def get_order(ops: Ops, order_id: OrderId) -> OrderPublic:
    data = await ops.run(GET_ORDER, {"id": order_id})
    return OrderPublic.model_validate(_found("order", order_id, data["order"]))


@orders.get(
    "/orders/{order_id}/events",
    summary="An order's changes as Server-Sent Events (owner or admin)",
    description="`event: next` with the order (as GET /orders/{order_id} answers it) on each "
    "change of its status; `event: error` with a problem when the stream fails (a "
    "`reconnect` true one asks to subscribe again); then `event: complete`.",
    responses={
        **_responses(401, 403, 404, 422, 503),
        200: {"content": {"text/event-stream": {}}, "description": "The order's events"},
    },
    response_class=Response,
)
async def order_events(ops: Ops, request: Request, order_id: OrderId) -> Response:
    # the order must be there and the caller's, as for GET: 404 rather than a silent stream
    _found("order", order_id, (await ops.run(GET_ORDER, {"id": order_id}))["order"])
    prepared, admitted = ops.admit(ORDER_EVENTS, {"id": order_id})
    return EventStreamResponse(
        ops.gateway,
        prepared,
        admitted,
        {"id": order_id},
        authorization=request.headers.get("authorization"),
        shape=_order_event,
    )


def _order_event(answer: dict[str, Any]) -> tuple[str, Any]:
    """An answer of ORDER_EVENTS as the REST routes speak: the order, or a problem."""
    if answer.get("errors"):
        problem = problem_from_errors(answer["errors"])
        body = {"status": problem.status, "code": problem.code, "detail": problem.detail}
        return "error", {**body, **problem.extensions}
    order = OrderPublic.model_validate(answer["data"]["orderUpdated"])
    return "next", order.model_dump(mode="json", by_alias=True)


@orders.patch(
    "/orders/{order_id}",
    summary="Cancel (owner, admin) or complete (admin) a pending order",
    responses=_responses(400, 401, 403, 404, 409, 413, 415, 422, 503),
)
async def update_order(
    ops: Ops, order_id: OrderId, body: Annotated[OrderStatusUpdate, Body()]
) -> OrderPublic:
    variables = {"id": order_id, "status": body.status.upper()}
    return OrderPublic.model_validate(
        (await ops.run(UPDATE_ORDER_STATUS, variables))["updateOrderStatus"]
    )


@orders.get(
    "/orders",
    summary="Orders, newest first (customers: their own)",
    responses=_responses(401, 403, 422, 503),
)
async def list_orders(
    ops: Ops, paging: Paging, listing: Annotated[OrderListing, Depends(on_the_loop(OrderListing))]
) -> Page[OrderPublic]:
    data = await ops.run(LIST_ORDERS, {**listing.variables(), **paging.variables()})
    return paging.page(Page[OrderPublic], data["orders"])


router = APIRouter()
router.include_router(products)
router.include_router(orders)
