"""The REST routes of the contract. Each is a thin resolver: a fixed GraphQL operation run
in-process through the gateway's planner and executor; the answer or the error is translated
to HTTP. No rule is checked here that a subgraph already checks."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette import responses

from gateway.federation.pipeline import Gateway, RequestError
from gateway.rest import operations as ops
from gateway.rest.models import (
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
from gateway.rest.problems import RestProblem, problem_from_errors
from platform_kit.auth import Role
from platform_kit.middleware import principal_of

__all__ = ["rest_router"]


class JSONResponse(responses.JSONResponse):
    """The same compact UTF-8 JSON, rendered by orjson: a products page renders several
    times faster than with the standard library's encoder (measured: the stdlib encoder
    took a tenth of the gateway's CPU on GET /products)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


PROBLEM = {"model": Problem, "content": {"application/problem+json": {}}}


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "Malformed JSON",
        401: "Missing or invalid token",
        403: "Not allowed for this role",
        404: "Not found",
        409: "Conflict",
        412: "If-Match names another version than the product's",
        413: "Body over 1 MiB",
        415: "Body is not application/json",
        422: "Invalid values",
        503: "A service is unavailable",
    }
    return {status: {**PROBLEM, "description": described[status]} for status in statuses}


async def _run(request: Request, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    principal = principal_of(request)
    if principal is not None and principal.role is Role.SERVICE:
        raise RestProblem(403, "service tokens are for calls between services", "FORBIDDEN")
    gateway: Gateway = request.app.state.gateway
    try:
        result = await gateway.execute(document, variables)
    except RequestError as error:
        raise problem_from_errors(error.errors) from None
    if result.get("errors"):
        raise problem_from_errors(result["errors"])
    data: dict[str, Any] = result["data"]
    return data


def _product(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": p["id"],
        "sku": p["sku"],
        "name": p["name"],
        "description": p["description"],
        "category": p["category"],
        "price": p["price"],
        "currency": p["currency"],
        "stock": p["stock"],
        "created_at": p["createdAt"],
        "updated_at": p["updatedAt"],
    }


def _order(o: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": o["id"],
        "user_id": o["userId"],
        "status": o["status"].lower(),
        "items": [
            {
                "product_id": i["productId"],
                "name": i["name"],
                "unit_price": i["unitPrice"],
                "quantity": i["quantity"],
                "line_total": i["lineTotal"],
            }
            for i in o["items"]
        ],
        "total": o["total"],
        "currency": o["currency"],
        "created_at": o["createdAt"],
        "updated_at": o["updatedAt"],
    }


def _page(request: Request, page: dict[str, Any], shape: Any) -> JSONResponse:
    body = {
        "items": [shape(item) for item in page["items"]],
        "total": page["total"],
        "limit": page["limit"],
        "offset": page["offset"],
        "next_cursor": page["nextCursor"],
    }
    headers = {}
    if page["nextCursor"]:
        # a relative reference (RFC 8288): nothing of the request's Host header is echoed
        params = [
            (k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "cursor")
        ]
        query = urlencode([*params, ("cursor", page["nextCursor"])])
        headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
    return JSONResponse(body, headers=headers)


def _product_response(product: dict[str, Any], **extra: Any) -> JSONResponse:
    """A product with its ETag: its version, which every change moves on."""
    headers = {"ETag": f'"{product["version"]}"', **extra.pop("headers", {})}
    return JSONResponse(_product(product), headers=headers, **extra)


def _expected_version(if_match: str | None) -> int | None:
    """The version an If-Match names: None for none or `*` (any version will do). A tag we
    never issue (a weak one, a list, anything else) can never match (RFC 9110): 412."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip()
    if len(tag) > 2 and tag[0] == tag[-1] == '"' and tag[1:-1].isascii() and tag[1:-1].isdigit():
        return int(tag[1:-1])
    raise RestProblem(412, "If-Match names no version of this product", "PRECONDITION_FAILED")


def _not_found(kind: str, ident: str) -> RestProblem:
    return RestProblem(404, f"{kind} {ident!r} not found", "NOT_FOUND")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


# A price bound: checked for size and precision by the digits it has, before any arithmetic
# could expand an exponent (1e999999999) into a billion digits.
AMOUNT_QUERY = Query(description="Inclusive", max_digits=12, decimal_places=2, allow_inf_nan=False)
Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100")]
Offset = Annotated[int | None, Query(ge=0, description="Items to skip (not with cursor)")]
Cursor = Annotated[str | None, Query(description="Opaque cursor from next_cursor")]


# Declares bearer authentication in the OpenAPI document (Swagger UI's Authorize button);
# the token itself is verified by the platform's AuthMiddleware before any route runs.
BEARER = HTTPBearer(auto_error=False, description="A JWT: `make token SUB=alice ROLE=admin`")


def _caller(*roles: Role) -> Any:
    """A route's caller, checked before its body or parameters are: the contract's order is
    identity (401), then role (403), then input (422)."""

    async def require(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    ) -> None:
        principal = principal_of(request)
        if principal is None:
            raise RestProblem(401, "send Authorization: Bearer <token>", "UNAUTHENTICATED")
        if principal.role not in roles:
            allowed = " or ".join(role.value for role in roles)
            raise RestProblem(403, f"this needs the role {allowed}", "FORBIDDEN")

    return Depends(require)


ADMIN = [_caller(Role.ADMIN)]
SIGNED_IN = [_caller(Role.CUSTOMER, Role.ADMIN)]


def rest_router() -> APIRouter:
    router = APIRouter()

    @router.post(
        "/products",
        dependencies=ADMIN,
        status_code=201,
        response_model=ProductPublic,
        tags=["products"],
        summary="Create a product (admin)",
        responses=_responses(400, 401, 403, 409, 413, 415, 422, 503),
    )
    async def create_product(
        request: Request, body: Annotated[ProductCreate, Body()]
    ) -> JSONResponse:
        values = body.model_dump(exclude_unset=True)
        values["price"] = _money(body.price)
        data = await _run(request, ops.CREATE_PRODUCT, {"input": values})
        created = data["createProduct"]
        return _product_response(
            created, status_code=201, headers={"Location": f"/products/{created['id']}"}
        )

    @router.get(
        "/products/{product_id}",
        response_model=ProductPublic,
        tags=["products"],
        summary="A product",
        responses=_responses(404, 422, 503),
    )
    async def get_product(request: Request, product_id: Annotated[str, Path()]) -> JSONResponse:
        data = await _run(request, ops.GET_PRODUCT, {"id": product_id})
        if data["product"] is None:
            raise _not_found("product", product_id)
        return _product_response(data["product"])

    @router.patch(
        "/products/{product_id}",
        dependencies=ADMIN,
        response_model=ProductPublic,
        tags=["products"],
        summary="Change some fields of a product (admin); If-Match: the ETag you read",
        responses=_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 503),
    )
    async def update_product(
        request: Request,
        product_id: Annotated[str, Path()],
        body: Annotated[ProductUpdate, Body()],
        if_match: Annotated[
            str | None,
            Header(
                description="The product's ETag as read: 412 if it changed since",
                pattern=r'^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$',
            ),
        ] = None,
    ) -> JSONResponse:
        values = body.model_dump(exclude_unset=True)
        if "price" in values:
            values["price"] = _money(body.price)
        variables = {"id": product_id, "input": values, "version": _expected_version(if_match)}
        data = await _run(request, ops.UPDATE_PRODUCT, variables)
        return _product_response(data["updateProduct"])

    @router.post(
        "/products/{product_id}/stock-adjustments",
        dependencies=ADMIN,
        response_model=ProductPublic,
        tags=["products"],
        summary="Add to (or take from) the stock as it is, atomically (admin)",
        responses=_responses(400, 401, 403, 404, 413, 415, 422, 503),
    )
    async def adjust_stock(
        request: Request,
        product_id: Annotated[str, Path()],
        body: Annotated[StockAdjustment, Body()],
    ) -> JSONResponse:
        variables = {"id": product_id, "delta": body.delta}
        data = await _run(request, ops.ADJUST_STOCK, variables)
        return _product_response(data["adjustStock"])

    @router.delete(
        "/products/{product_id}",
        dependencies=ADMIN,
        status_code=204,
        tags=["products"],
        summary="Delete a product (admin); orders keep their copy",
        responses=_responses(401, 403, 404, 422, 503),
    )
    async def delete_product(request: Request, product_id: Annotated[str, Path()]) -> Response:
        await _run(request, ops.DELETE_PRODUCT, {"id": product_id})
        return Response(status_code=204)

    @router.get(
        "/products",
        response_model=Page[ProductPublic],
        tags=["products"],
        summary="A page of products",
        responses=_responses(422, 503),
    )
    async def list_products(
        request: Request,
        limit: Limit = 20,
        offset: Offset = None,
        cursor: Cursor = None,
        q: Annotated[str | None, Query(description="Text in the name, taken literally")] = None,
        category: str | None = None,
        min_price: Annotated[Decimal | None, AMOUNT_QUERY] = None,
        max_price: Annotated[Decimal | None, AMOUNT_QUERY] = None,
        in_stock: bool | None = None,
        sort: ProductSortParam = ProductSortParam.CREATED_AT_DESC,
    ) -> JSONResponse:
        product_filter = {
            "q": q,
            "category": category,
            "minPrice": _money(min_price),
            "maxPrice": _money(max_price),
            "inStock": in_stock,
        }
        data = await _run(
            request,
            ops.LIST_PRODUCTS,
            {
                "filter": {k: v for k, v in product_filter.items() if v is not None},
                "sort": sort.to_graphql(),
                "limit": limit,
                "offset": offset,
                "cursor": cursor or None,  # an empty cursor is no cursor
            },
        )
        return _page(request, data["products"], _product)

    @router.post(
        "/orders",
        dependencies=SIGNED_IN,
        status_code=201,
        response_model=OrderPublic,
        tags=["orders"],
        summary="Order products (customer or admin), all lines or none",
        responses=_responses(400, 401, 403, 409, 413, 415, 422, 503),
    )
    async def create_order(
        request: Request,
        body: Annotated[OrderCreate, Body()],
        idempotency_key: Annotated[
            str | None, Header(description="Same key and body again returns the same order")
        ] = None,
    ) -> JSONResponse:
        items = [{"productId": line.product_id, "quantity": line.quantity} for line in body.items]
        data = await _run(
            request, ops.CREATE_ORDER, {"input": {"items": items}, "key": idempotency_key}
        )
        order = _order(data["createOrder"])
        return JSONResponse(order, status_code=201, headers={"Location": f"/orders/{order['id']}"})

    @router.get(
        "/orders/{order_id}",
        dependencies=SIGNED_IN,
        response_model=OrderPublic,
        tags=["orders"],
        summary="An order (owner or admin)",
        responses=_responses(401, 403, 404, 422, 503),
    )
    async def get_order(request: Request, order_id: Annotated[str, Path()]) -> JSONResponse:
        data = await _run(request, ops.GET_ORDER, {"id": order_id})
        if data["order"] is None:
            raise _not_found("order", order_id)
        return JSONResponse(_order(data["order"]))

    @router.patch(
        "/orders/{order_id}",
        dependencies=SIGNED_IN,
        response_model=OrderPublic,
        tags=["orders"],
        summary="Cancel (owner, admin) or complete (admin) a pending order",
        responses=_responses(400, 401, 403, 404, 409, 413, 415, 422, 503),
    )
    async def update_order(
        request: Request,
        order_id: Annotated[str, Path()],
        body: Annotated[OrderStatusUpdate, Body()],
    ) -> JSONResponse:
        data = await _run(
            request, ops.UPDATE_ORDER_STATUS, {"id": order_id, "status": body.status.upper()}
        )
        return JSONResponse(_order(data["updateOrderStatus"]))

    @router.get(
        "/orders",
        dependencies=SIGNED_IN,
        response_model=Page[OrderPublic],
        tags=["orders"],
        summary="Orders, newest first (customers: their own)",
        responses=_responses(401, 403, 422, 503),
    )
    async def list_orders(
        request: Request,
        limit: Limit = 20,
        offset: Offset = None,
        cursor: Cursor = None,
        status: Annotated[str | None, Query(pattern="^(pending|completed|cancelled)$")] = None,
        user_id: Annotated[str | None, Query(description="Admins only")] = None,
    ) -> JSONResponse:
        data = await _run(
            request,
            ops.LIST_ORDERS,
            {
                "status": status.upper() if status else None,
                "userId": user_id,
                "limit": limit,
                "offset": offset,
                "cursor": cursor or None,  # an empty cursor is no cursor
            },
        )
        return _page(request, data["orders"], _order)

    return router
