"""Every REST route of the contract, with its success and each error it lists, through the
running platform: gateway, both subgraphs, database."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from .conftest import Platform


class Api:
    def __init__(self, platform: Platform) -> None:
        self.client = httpx.Client(base_url=platform.gateway.base_url, timeout=30)
        self.make_token = platform.make_token
        self.admin = self.auth(platform.make_token("admin-1", "admin"))

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def customer(self) -> dict[str, str]:
        return self.auth(self.make_token(f"cust-{uuid.uuid4().hex[:8]}"))

    def product(self, **fields: Any) -> dict[str, Any]:
        body = {"name": f"P-{uuid.uuid4().hex[:6]}", "price": "10.00", "stock": 10, **fields}
        response = self.client.post("/products", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        product: dict[str, Any] = response.json()
        return product


@pytest.fixture(scope="module")
def api(platform: Platform) -> Iterator[Api]:
    client = Api(platform)
    yield client
    client.client.close()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert problem["status"] == status
    return problem


# -- products ----------------------------------------------------------------------------
def test_create_product_answers_201_with_location(api: Api) -> None:
    response = api.client.post(
        "/products",
        headers=api.admin,
        json={
            "name": "Kettle",
            "price": 24.5,
            "sku": f"K-{uuid.uuid4().hex[:6]}",
            "category": "kitchen",
            "stock": 4,
        },
    )
    assert response.status_code == 201
    product = response.json()
    assert response.headers["Location"] == f"/products/{product['id']}"
    assert (product["price"], product["currency"], product["stock"]) == ("24.50", "USD", 4)
    assert set(product) == {
        "id",
        "sku",
        "name",
        "description",
        "category",
        "price",
        "currency",
        "stock",
        "created_at",
        "updated_at",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price": "1.00"}, "name"),
        ({"name": "x"}, "price"),
        ({"name": "x", "price": "abc"}, "price"),
        ({"name": "x", "price": "0"}, "price"),
        ({"name": "x", "price": "1.999"}, "price"),
        ({"name": "", "price": "1"}, "name"),
        ({"name": "x" * 201, "price": "1"}, "name"),
        ({"name": "x", "price": "1", "stock": -1}, "stock"),
        ({"name": "x", "price": "1", "stock": 1.5}, "stock"),
        ({"name": "x", "price": "1", "colour": "red"}, "colour"),
    ],
)
def test_invalid_product_fields_are_422_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(api.client.post("/products", json=body, headers=api.admin), 422)
    assert field in {error["field"] for error in problem["errors"]}


def test_a_duplicate_sku_is_409(api: Api) -> None:
    sku = f"DUP-{uuid.uuid4().hex[:6]}"
    api.product(sku=sku)
    assert_problem(
        api.client.post(
            "/products", json={"name": "x", "price": "1", "sku": sku}, headers=api.admin
        ),
        409,
    )


def test_writing_products_needs_an_admin(api: Api) -> None:
    problem = assert_problem(api.client.post("/products", json={"name": "x", "price": "1"}), 401)
    assert problem["code"] == "UNAUTHENTICATED"
    assert_problem(
        api.client.post("/products", json={"name": "x", "price": "1"}, headers=api.customer()), 403
    )


@pytest.mark.parametrize("token", ["not-a-jwt", "e30.e30.e30"])
def test_a_bad_token_is_401_with_a_bearer_challenge(api: Api, token: str) -> None:
    response = api.client.get("/products", headers=api.auth(token))
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_token_with_an_expiry_as_text_is_401_everywhere(
    api: Api, platform: Platform, jwt_secret: str
) -> None:
    """PyJWT takes `"exp": "<digits>"`; no issuer writes it, so no service trusts it."""
    claims = {"sub": "admin-1", "role": "admin", "exp": str(int(time.time()) + 600)}
    headers = api.auth(jwt.encode(claims, jwt_secret, algorithm="HS256"))
    assert_problem(api.client.get("/products", headers=headers), 401)
    query = {"query": "{ products(limit: 1) { total } }"}
    for service in (platform.gateway, platform.inventory):
        answer = httpx.post(service.base_url + "/graphql", json=query, headers=headers)
        assert answer.status_code == 401, answer.text


def test_get_update_and_delete_a_product(api: Api) -> None:
    product = api.product(description="old")
    assert api.client.get(f"/products/{product['id']}").json() == product
    patched = api.client.patch(
        f"/products/{product['id']}", headers=api.admin, json={"price": "11", "description": None}
    )
    assert patched.status_code == 200
    assert (patched.json()["price"], patched.json()["description"]) == ("11.00", None)
    assert api.client.delete(f"/products/{product['id']}", headers=api.admin).status_code == 204
    assert_problem(api.client.get(f"/products/{product['id']}"), 404)
    assert_problem(api.client.delete(f"/products/{product['id']}", headers=api.admin), 404)
    assert_problem(
        api.client.patch(f"/products/{product['id']}", headers=api.admin, json={"name": "x"}), 404
    )


@pytest.mark.parametrize("product_id", ["nope", "0123456789abcdef01234567", "%24ne"])
def test_an_unknown_or_malformed_product_id_is_404(api: Api, product_id: str) -> None:
    assert_problem(api.client.get(f"/products/{product_id}"), 404)


def test_an_invalid_patch_is_422(api: Api) -> None:
    product = api.product()
    assert_problem(
        api.client.patch(f"/products/{product['id']}", headers=api.admin, json={"stock": -3}), 422
    )


def test_listing_filters_sorts_and_pages_with_a_link_header(api: Api) -> None:
    category = f"c-{uuid.uuid4().hex[:6]}"
    for name, price in [("b mug", "3"), ("a mug", "1"), ("c cup", "2")]:
        api.product(name=name, price=price, category=category)
    first = api.client.get("/products", params={"category": category, "sort": "price", "limit": 2})
    assert first.status_code == 200
    page = first.json()
    assert [p["name"] for p in page["items"]] == ["a mug", "c cup"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert page["next_cursor"] and 'rel="next"' in first.headers["Link"]
    next_url = first.headers["Link"].split(";")[0].strip("<>")
    second = api.client.get(next_url).json()
    assert [p["name"] for p in second["items"]] == ["b mug"]
    assert second["offset"] == 2 and second["next_cursor"] is None
    found = api.client.get(
        "/products", params={"category": category, "q": "MUG", "min_price": "2", "in_stock": "true"}
    ).json()
    assert [p["name"] for p in found["items"]] == ["b mug"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
        {"sort": "colour"},
        {"in_stock": "maybe"},
        {"min_price": "cheap"},
        {"offset": 0, "cursor": "abc"},
        {"cursor": "garbage"},
    ],
)
def test_bad_list_parameters_are_422(api: Api, params: dict[str, Any]) -> None:
    assert_problem(api.client.get("/products", params=params), 422)


# -- request limits ----------------------------------------------------------------------
def test_malformed_json_is_400(api: Api) -> None:
    response = api.client.post(
        "/products", content=b'{"name": ', headers={**api.admin, "Content-Type": "application/json"}
    )
    assert_problem(response, 400)


def test_the_next_link_is_relative_and_takes_any_query_parameter(api: Api) -> None:
    for _ in range(2):
        api.product()
    response = api.client.get(
        "/products", params={"limit": 1, "self": "x"}, headers={"Host": "evil.example"}
    )
    assert response.status_code == 200
    link = response.headers["Link"]
    assert link.startswith("</products?") and "evil.example" not in link
    assert "self=x" in link and "cursor=" in link


@pytest.mark.parametrize(
    "query",
    [
        "min_price=1e999999999",
        "max_price=1E%2B999999",
        "min_price=12345678901234567890123456789012345678901",
        "min_price=NaN",
        "offset=99999999999",
    ],
)
def test_numbers_no_listing_could_use_are_422(api: Api, query: str) -> None:
    assert_problem(api.client.get(f"/products?{query}"), 422)


@pytest.mark.parametrize(
    "query",
    [
        "offset=0.0",
        "offset=%2B1",
        "offset=1_0",
        "limit=1_0",
        "limit=%EF%BC%95",  # a full-width 5
        "min_price=%D9%A1%D9%A2",  # Arabic-Indic 12
        "min_price=%2B5",
        "min_price=1e1",
        "max_price=",
        "offset=1000001",
    ],
)
def test_query_numbers_are_plain_ascii_digits(api: Api, query: str) -> None:
    assert_problem(api.client.get(f"/products?{query}"), 422)
    if query.startswith(("offset", "limit")):
        assert_problem(api.client.get(f"/orders?{query}", headers=api.customer()), 422)


def test_query_numbers_in_plain_digits_are_taken(api: Api) -> None:
    answer = api.client.get("/products?offset=007&limit=05&min_price=0.5&max_price=1000000000")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["offset"], answer.json()["limit"]) == (7, 5)


def test_the_openapi_document_says_what_the_api_refuses(api: Api) -> None:
    """Schema-valid requests are taken: each refusal a document can state, it states."""
    document = api.client.get("/openapi.json").json()
    listing = {p["name"]: p["schema"] for p in document["paths"]["/products"]["get"]["parameters"]}
    assert listing["offset"]["maximum"] == 10_000
    assert listing["max_price"]["pattern"].startswith("^")
    schemas = document["components"]["schemas"]
    price = schemas["ProductCreate"]["properties"]["price"]["anyOf"]
    assert {choice["type"] for choice in price} == {"string", "integer"}
    assert schemas["ProductCreate"]["properties"]["name"]["pattern"]
    assert schemas["StockAdjustment"]["properties"]["delta"]["not"] == {"const": 0}
    assert schemas["OrderLineCreate"]["properties"]["product_id"]["pattern"]
    assert schemas["OrderCreate"]["properties"]["items"]["minItems"] == 1
    assert schemas["ProductUpdate"]["minProperties"] == 1  # `{}` changes nothing: 422
    # a query or header cannot carry null: `If-Match: null` is the text "null"
    parameters = [
        parameter
        for operations in document["paths"].values()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
    ]
    assert all("null" not in str(parameter["schema"]) for parameter in parameters)


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "\\ud800", "price": "1.00", "stock": 1}',  # a lone UTF-16 surrogate
        b"[" * 100_000 + b"]" * 100_000,  # deeper than any parser's stack should go
    ],
    ids=["lone-surrogate", "deep-nesting"],
)
def test_json_that_no_service_could_carry_is_400(api: Api, body: bytes) -> None:
    for path in ("/products", "/graphql"):
        response = api.client.post(
            path, content=body, headers={**api.admin, "Content-Type": "application/json"}
        )
        assert_problem(response, 400)


def test_an_operation_estimated_too_costly_is_400(api: Api) -> None:
    # within the alias limit, but 30 pages of 100 products: refused before any subgraph call
    pages = " ".join(
        f"p{i}: products(limit: 100) {{ total items {{ id name price stock }} }}" for i in range(30)
    )
    response = api.client.post("/graphql", json={"query": "{ " + pages + " }"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    one_page = "{ products(limit: 100) { total items { id name price stock } } }"
    assert api.client.post("/graphql", json={"query": one_page}).status_code == 200


def test_an_operation_past_the_limits_is_400_naming_the_limit(api: Api) -> None:
    flood = " ".join(f"a{i}: products(limit: 1) {{ total }}" for i in range(40))
    response = api.client.post("/graphql", json={"query": "{ " + flood + " }"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "MAX_ALIASES_EXCEEDED"


def test_a_wrong_content_type_is_415(api: Api) -> None:
    response = api.client.post(
        "/products",
        content=b"name=x",
        headers={**api.admin, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415)


def test_a_body_over_one_mebibyte_is_413(api: Api) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'", "price": "1"}'
    response = api.client.post(
        "/products", content=big, headers={**api.admin, "Content-Type": "application/json"}
    )
    assert_problem(response, 413)


def test_a_chunked_body_over_one_mebibyte_is_413(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'", "price": "1"}'

    response = api.client.post(
        "/products", content=chunks(), headers={**api.admin, "Content-Type": "application/json"}
    )
    assert_problem(response, 413)


# -- orders ------------------------------------------------------------------------------
def test_an_order_takes_stock_and_a_cancel_gives_it_back(api: Api) -> None:
    product = api.product(stock=5, price="2.50")
    customer = api.customer()
    response = api.client.post(
        "/orders",
        headers=customer,
        json={
            "items": [
                {"product_id": product["id"], "quantity": 1},
                {"product_id": product["id"], "quantity": 2},
            ]
        },
    )
    assert response.status_code == 201
    order = response.json()
    assert response.headers["Location"] == f"/orders/{order['id']}"
    assert (order["status"], order["total"], order["currency"]) == ("pending", "7.50", "USD")
    assert order["items"] == [
        {
            "product_id": product["id"],
            "name": product["name"],
            "unit_price": "2.50",
            "quantity": 3,
            "line_total": "7.50",
        }
    ]
    assert api.client.get(f"/products/{product['id']}").json()["stock"] == 2
    assert api.client.get(f"/orders/{order['id']}", headers=customer).json() == order

    cancelled = api.client.patch(
        f"/orders/{order['id']}", headers=customer, json={"status": "cancelled"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.client.get(f"/products/{product['id']}").json()["stock"] == 5
    assert_problem(
        api.client.patch(f"/orders/{order['id']}", headers=customer, json={"status": "cancelled"}),
        409,
    )


def test_an_order_still_names_a_product_deleted_since(api: Api) -> None:
    product = api.product(name="Discontinued kettle")
    customer = api.customer()
    order = api.client.post(
        "/orders",
        json={"items": [{"product_id": product["id"], "quantity": 1}]},
        headers=customer,
    ).json()
    assert api.client.delete(f"/products/{product['id']}", headers=api.admin).status_code == 204
    query = "query($id: ID!) { order(id: $id) { items { name product { name price } } } }"
    body = api.client.post(
        "/graphql", json={"query": query, "variables": {"id": order["id"]}}, headers=customer
    ).json()
    assert "errors" not in body, body
    line = body["data"]["order"]["items"][0]
    assert line == {
        "name": "Discontinued kettle",
        "product": {"name": "Discontinued kettle", "price": product["price"]},
    }
    assert_problem(api.client.get(f"/products/{product['id']}"), 404)  # gone from the catalog


def test_only_an_admin_completes_an_order(api: Api) -> None:
    product = api.product()
    customer = api.customer()
    order = api.client.post(
        "/orders", headers=customer, json={"items": [{"product_id": product["id"], "quantity": 1}]}
    ).json()
    assert_problem(
        api.client.patch(f"/orders/{order['id']}", headers=customer, json={"status": "completed"}),
        403,
    )
    done = api.client.patch(
        f"/orders/{order['id']}", headers=api.admin, json={"status": "completed"}
    )
    assert done.json()["status"] == "completed"
    assert_problem(
        api.client.patch(f"/orders/{order['id']}", headers=api.admin, json={"status": "cancelled"}),
        409,
    )
    assert_problem(
        api.client.patch(f"/orders/{order['id']}", headers=api.admin, json={"status": "shipped"}),
        422,
    )


def test_insufficient_stock_is_409_naming_the_shortage(api: Api) -> None:
    product = api.product(stock=1)
    problem = assert_problem(
        api.client.post(
            "/orders",
            headers=api.customer(),
            json={"items": [{"product_id": product["id"], "quantity": 2}]},
        ),
        409,
    )
    assert problem["code"] == "INSUFFICIENT_STOCK"
    assert problem["shortages"] == [{"product_id": product["id"], "requested": 2, "available": 1}]


@pytest.mark.parametrize(
    "items",
    [
        [],
        [{"product_id": "0123456789abcdef01234567", "quantity": 1}],
        [{"product_id": "x", "quantity": 0}],
        [{"product_id": "x"}],
        "all",
    ],
)
def test_bad_items_or_unknown_products_are_422(api: Api, items: Any) -> None:
    assert_problem(api.client.post("/orders", headers=api.customer(), json={"items": items}), 422)


def test_ordering_needs_a_token(api: Api) -> None:
    problem = assert_problem(
        api.client.post("/orders", json={"items": [{"product_id": "x", "quantity": 1}]}), 401
    )
    assert problem["code"] == "UNAUTHENTICATED"


def test_idempotency_key_replays_and_refuses_another_body(api: Api) -> None:
    product = api.product(stock=10)
    customer = api.customer()
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    body = {"items": [{"product_id": product["id"], "quantity": 2}]}
    first = api.client.post("/orders", headers={**customer, **key}, json=body)
    again = api.client.post("/orders", headers={**customer, **key}, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert api.client.get(f"/products/{product['id']}").json()["stock"] == 8
    other = {"items": [{"product_id": product["id"], "quantity": 3}]}
    assert_problem(api.client.post("/orders", headers={**customer, **key}, json=other), 422)


def test_another_users_order_is_404(api: Api) -> None:
    product = api.product()
    order = api.client.post(
        "/orders",
        headers=api.customer(),
        json={"items": [{"product_id": product["id"], "quantity": 1}]},
    ).json()
    stranger = api.customer()
    assert_problem(api.client.get(f"/orders/{order['id']}", headers=stranger), 404)
    assert_problem(
        api.client.patch(f"/orders/{order['id']}", headers=stranger, json={"status": "cancelled"}),
        404,
    )
    assert api.client.get(f"/orders/{order['id']}", headers=api.admin).status_code == 200


def test_listing_orders(api: Api) -> None:
    product = api.product(stock=50)
    me = f"lister-{uuid.uuid4().hex[:6]}"
    customer = api.auth(api.make_token(me))
    ids = [
        api.client.post(
            "/orders",
            headers=customer,
            json={"items": [{"product_id": product["id"], "quantity": 1}]},
        ).json()["id"]
        for _ in range(3)
    ]
    api.client.patch(f"/orders/{ids[0]}", headers=customer, json={"status": "cancelled"})
    mine = api.client.get("/orders", headers=customer, params={"limit": 2})
    assert [o["id"] for o in mine.json()["items"]] == ids[::-1][:2]
    assert mine.json()["total"] == 3 and 'rel="next"' in mine.headers["Link"]
    pending = api.client.get("/orders", headers=customer, params={"status": "pending"}).json()
    assert {o["id"] for o in pending["items"]} == set(ids[1:])
    for_admin = api.client.get("/orders", headers=api.admin, params={"user_id": me}).json()
    assert for_admin["total"] == 3
    assert_problem(
        api.client.get("/orders", headers=customer, params={"user_id": "someone-else"}), 403
    )
    assert_problem(api.client.get("/orders", headers=customer, params={"status": "lost"}), 422)
    assert_problem(api.client.get("/orders"), 401)


@pytest.mark.parametrize(
    "fields",
    [
        {"price": "1_0"},
        {"price": "\u0661\u0660"},  # Arabic-Indic digits
        {"price": "+5"},
        {"price": "1e1"},
        {"price": " 5"},
        {"price": ""},
        {"price": True},
        {"price": 1e30},
        {"stock": "5"},
        {"stock": True},
        {"stock": 5.0},
    ],
)
def test_numbers_are_strict(api: Api, fields: dict[str, Any]) -> None:
    body = {"name": "strict", "price": "1.00", **fields}
    assert_problem(api.client.post("/products", json=body, headers=api.admin), 422)


@pytest.mark.parametrize("quantity", [True, "2", 2.0])
def test_an_order_quantity_is_a_whole_json_number(api: Api, quantity: Any) -> None:
    product = api.product()
    body = {"items": [{"product_id": product["id"], "quantity": quantity}]}
    assert_problem(api.client.post("/orders", json=body, headers=api.customer()), 422)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/products", {"name": "", "price": "1e999999999"}),
        ("PATCH", "/products/0123456789abcdef01234567", {"price": "not money"}),
        ("DELETE", "/products/0123456789abcdef01234567", None),
        ("POST", "/orders", {"items": [{"product_id": "x", "quantity": "lots"}]}),
        ("PATCH", "/orders/0123456789abcdef01234567", {"status": "lost"}),
    ],
)
def test_identity_then_role_are_checked_before_input(
    api: Api, method: str, path: str, body: dict[str, Any] | None
) -> None:
    """The contract's order: 401, then 403, then 422 (invalid bodies here on purpose)."""
    anonymous = api.client.request(method, path, json=body)
    assert_problem(anonymous, 401)
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    if path.startswith("/products"):
        assert_problem(api.client.request(method, path, json=body, headers=api.customer()), 403)


def test_if_match_guards_a_product_against_changes_made_since_it_was_read(api: Api) -> None:
    product = api.product(stock=10)
    path = f"/products/{product['id']}"
    read = api.client.get(path)
    etag = read.headers["ETag"]
    changed = api.client.patch(
        path, json={"name": "renamed"}, headers={**api.admin, "If-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    stale = api.client.patch(path, json={"name": "lost"}, headers={**api.admin, "If-Match": etag})
    assert_problem(stale, 412)
    for tag, status in (('W/"1"', 412), ('"0", "9"', 412), ("nonsense", 412)):
        assert_problem(
            api.client.patch(path, json={"name": "x"}, headers={**api.admin, "If-Match": tag}),
            status,
        )
    assert api.client.get(path).json()["name"] == "renamed"
    # an order taking stock is a change too: an absolute stock written from the old read
    # would silently give the order's units back
    before = api.client.get(path).headers["ETag"]
    ordered = api.client.post(
        "/orders",
        json={"items": [{"product_id": product["id"], "quantity": 2}]},
        headers=api.customer(),
    )
    assert ordered.status_code == 201
    assert_problem(
        api.client.patch(path, json={"stock": 10}, headers={**api.admin, "If-Match": before}),
        412,
    )
    assert api.client.get(path).json()["stock"] == 8


def test_if_match_takes_a_list_of_tags_compared_strongly(api: Api) -> None:
    """RFC 9110: any tag of the list may match, by its exact text; a tag we never send
    (a padded, weak or four-thousand-digit one) matches nothing and is no server error."""
    product = api.product()
    path = f"/products/{product['id']}"
    etag = api.client.get(path).headers["ETag"]
    version = etag.strip('"')
    for tag in (f'"0{version}"', f'W/"{version}"', '"' + "9" * 4301 + '"', '"999", "998"'):
        refused = api.client.patch(path, json={"name": "x"}, headers={**api.admin, "If-Match": tag})
        assert_problem(refused, 412)
    listed = api.client.patch(
        path, json={"name": "listed"}, headers={**api.admin, "If-Match": f'"999", {etag}'}
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["name"] == "listed" and listed.headers["ETag"] != etag
    gone = f"/products/{'0' * 24}"
    assert_problem(
        api.client.patch(gone, json={"name": "x"}, headers={**api.admin, "If-Match": '"1", "2"'}),
        404,
    )


def test_stock_is_adjusted_relative_to_what_it_is(api: Api) -> None:
    product = api.product(stock=3)
    path = f"/products/{product['id']}/stock-adjustments"
    added = api.client.post(path, json={"delta": 5}, headers=api.admin)
    assert added.status_code == 200 and added.json()["stock"] == 8
    assert added.headers["ETag"]
    assert_problem(api.client.post(path, json={"delta": -9}, headers=api.admin), 422)
    assert_problem(api.client.post(path, json={"delta": "5"}, headers=api.admin), 422)
    assert_problem(api.client.post(path, json={"delta": 1}, headers=api.customer()), 403)
    assert_problem(api.client.post(path, json={"delta": 1}), 401)
    missing = "/products/0123456789abcdef01234567/stock-adjustments"
    assert_problem(api.client.post(missing, json={"delta": 1}, headers=api.admin), 404)


# -- documents ---------------------------------------------------------------------------
def test_the_openapi_document_lists_every_route_with_problems(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    routes = {(path, method) for path, methods in document["paths"].items() for method in methods}
    assert {
        ("/products", "post"),
        ("/products/{product_id}", "get"),
        ("/products/{product_id}", "patch"),
        ("/products/{product_id}", "delete"),
        ("/products", "get"),
        ("/orders", "post"),
        ("/orders/{order_id}", "get"),
        ("/orders/{order_id}", "patch"),
        ("/orders", "get"),
    } <= routes
    create = document["paths"]["/orders"]["post"]["responses"]
    assert {"201", "401", "409", "413", "415", "422", "503"} <= create.keys()
    assert "application/problem+json" in create["409"]["content"]
    # every documented 422 is a problem, like every other error
    for methods in document["paths"].values():
        for operation in methods.values():
            invalid = operation["responses"].get("422")
            assert invalid is None or "application/problem+json" in invalid["content"]
    # bearer authentication is declared, so Swagger UI can send a token
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, method in [
        ("/products", "post"),
        ("/orders", "get"),
        ("/orders/{order_id}", "patch"),
    ]:
        assert document["paths"][path][method]["security"] == [{"HTTPBearer": []}]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/products", "GET, POST"),
        ("POST", "/products/0123456789abcdef01234567", "DELETE, GET, PATCH"),
        ("DELETE", "/orders", "GET, POST"),
    ],
)
def test_a_method_not_allowed_names_the_allowed_ones(
    api: Api, method: str, path: str, allowed: str
) -> None:
    response = api.client.request(method, path, headers=api.admin)
    assert_problem(response, 405)
    assert response.headers["Allow"] == allowed


def test_the_docs_page_is_served_offline(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "cdn." not in page.text and "unpkg" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert api.client.get(f"/docs/assets/{asset}").status_code == 200
