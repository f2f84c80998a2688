"""Who may call what: anonymous and customers read, admins write, bad tokens are 401."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import jwt
import pytest

from platform_devkit.processes import ServiceProcess

from .conftest import GraphQL, error_code

CREATE = 'mutation { createProduct(input: {name: "x", price: "1.00"}) { id } }'


def test_anonymous_callers_cannot_write(gql: GraphQL) -> None:
    assert error_code(gql(CREATE)) == "UNAUTHENTICATED"


@pytest.mark.parametrize("role", ["customer", "service"])
def test_only_admins_write_products(
    gql: GraphQL, make_token: Callable[..., str], role: str
) -> None:
    assert error_code(gql(CREATE, token=make_token("u1", role))) == "FORBIDDEN"


# Values of the right GraphQL types that our rules refuse: the caller is checked first
INVALID_WRITES = {
    "an empty name": 'createProduct(input: {name: "", price: "0"}) { id }',
    "a price not a number": 'createProduct(input: {name: "x", price: "abc"}) { id }',
    "a price as an object": 'createProduct(input: {name: "x", price: {a: 1}}) { id }',
    "a signed price": 'updateProduct(id: "nope", input: {price: "+5"}) { id }',
    "a zero stock change": 'adjustStock(id: "nope", delta: 0) { id }',
}


@pytest.mark.parametrize("selection", INVALID_WRITES.values(), ids=list(INVALID_WRITES))
def test_identity_and_role_are_checked_before_input(
    gql: GraphQL, make_token: Callable[..., str], selection: str
) -> None:
    mutation = f"mutation {{ {selection} }}"
    assert error_code(gql(mutation)) == "UNAUTHENTICATED"
    assert error_code(gql(mutation, token=make_token("u1", "customer"))) == "FORBIDDEN"
    assert error_code(gql(mutation, token=make_token("u1", "admin"))) in (
        "BAD_USER_INPUT",
        "NOT_FOUND",
    )


def test_a_price_variable_is_checked_after_the_caller(gql: GraphQL) -> None:
    mutation = "mutation C($input: CreateProductInput!) { createProduct(input: $input) { id } }"
    body = gql(mutation, {"input": {"name": "", "price": "1e1"}})
    assert error_code(body) == "UNAUTHENTICATED"


def _bad_tokens(make_token: Callable[..., str], secret: str) -> dict[str, str]:
    return {
        "expired": make_token("u1", "admin", ttl=-10),
        "forged": jwt.encode(
            {"sub": "u1", "role": "admin", "exp": 2**33}, "w" * 40, algorithm="HS256"
        ),
        "unsigned": jwt.encode(
            {"sub": "u1", "role": "admin", "exp": 2**33}, None, algorithm="none"
        ),
        "malformed": "not.a.jwt",
        "unknown role": jwt.encode(
            {"sub": "u1", "role": "root", "exp": 2**33}, secret, algorithm="HS256"
        ),
        "no exp": jwt.encode({"sub": "u1", "role": "admin"}, secret, algorithm="HS256"),
        "exp as text": jwt.encode(
            {"sub": "u1", "role": "admin", "exp": str(2**33)}, secret, algorithm="HS256"
        ),
    }


@pytest.mark.parametrize(
    "kind",
    ["expired", "forged", "unsigned", "malformed", "unknown role", "no exp", "exp as text"],
)
@pytest.mark.parametrize("path", ["/graphql", "/internal/reservations/r1"])
def test_a_bad_token_is_401_with_www_authenticate_everywhere(
    inventory: ServiceProcess,
    make_token: Callable[..., str],
    jwt_secret: str,
    kind: str,
    path: str,
) -> None:
    token = _bad_tokens(make_token, jwt_secret)[kind]
    response = httpx.post(
        inventory.base_url + path,
        json={"query": "{ __typename }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401


def test_a_non_bearer_authorization_header_is_401(inventory: ServiceProcess) -> None:
    response = httpx.post(
        inventory.base_url + "/graphql",
        json={"query": "{ __typename }"},
        headers={"Authorization": "Basic dXNlcjpwYXNz"},
    )
    assert response.status_code == 401
