"""GET /graphql, CSRF prevention and automatic persisted queries, on the real platform (its
gateway with the default settings: APQ on, trusted documents off)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import Platform

PREFLIGHT = {"apollo-require-preflight": "true"}
PRODUCTS = "query Few($limit: Int!) { products(limit: $limit) { total limit } }"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _get(
    platform: Platform, headers: dict[str, str] | None = None, **params: Any
) -> httpx.Response:
    encoded = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    return httpx.get(
        platform.gateway.base_url + "/graphql",
        params=encoded,
        headers=PREFLIGHT if headers is None else headers,
        timeout=30,
    )


def _post(platform: Platform, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(
        platform.gateway.base_url + "/graphql", json=body, headers=headers, timeout=30
    )


def _code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def _persisted(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def _unique_query() -> str:
    """A text no earlier test registered: APQ's store is the gateway's, shared by the module."""
    return f"query Fresh{uuid.uuid4().hex} {{ products(limit: 1) {{ total }} }}"


# GET


def test_a_query_over_get_runs_with_its_variables_and_is_not_stored(platform: Platform) -> None:
    response = _get(platform, query=PRODUCTS, variables={"limit": 3}, operationName="Few")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["products"]["limit"] == 3
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["extensions"]["cost"]["requestedQueryCost"] > 0


def test_a_mutation_over_get_is_405_and_does_not_run(
    platform: Platform, make_token: Callable[..., str]
) -> None:
    admin = {**PREFLIGHT, "Authorization": f"Bearer {make_token('boss', 'admin')}"}
    name = f"get-{uuid.uuid4().hex}"
    mutation = f'mutation {{ createProduct(input: {{name: "{name}", price: "1.00"}}) {{ id }} }}'
    refused = _get(platform, admin, query=mutation)
    assert refused.status_code == 405
    assert refused.headers["allow"] == "POST"
    assert _code(refused) == "MUTATION_FORBIDDEN"
    found = platform.graphql(f'{{ products(filter: {{q: "{name}"}}) {{ total }} }}')
    assert found.json()["data"]["products"]["total"] == 0


def test_a_get_with_a_bad_parameter_is_a_400_saying_which(platform: Platform) -> None:
    response = _get(platform, query=PRODUCTS, variables="[1]")
    assert response.status_code == 400
    assert "`variables` must be a JSON object" in response.json()["errors"][0]["message"]


def test_a_json_client_that_forgot_its_query_gets_a_400(platform: Platform) -> None:
    response = _get(platform, {**PREFLIGHT, "Accept": "application/json"})
    assert response.status_code == 400
    assert _code(response) == "BAD_REQUEST"


def test_a_browser_still_gets_graphiql_with_or_without_a_query(platform: Platform) -> None:
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for params in ({}, {"query": PRODUCTS}):
        page = _get(platform, html, **params)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "graphiql" in page.text.lower()


# CSRF


def test_a_get_operation_without_a_preflight_header_is_refused(platform: Platform) -> None:
    for headers in ({}, {"apollo-require-preflight": ""}):
        refused = _get(platform, headers, query=PRODUCTS, variables={"limit": 1})
        assert refused.status_code == 400
        assert _code(refused) == "CSRF_ERROR"
        assert "apollo-require-preflight" in refused.json()["errors"][0]["message"]
    allowed = _get(
        platform, {"x-apollo-operation-name": "Few"}, query=PRODUCTS, variables={"limit": 1}
    )
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_simple_post_without_a_preflight_header_is_refused(
    platform: Platform, content_type: str, make_token: Callable[..., str]
) -> None:
    name = f"csrf-{uuid.uuid4().hex}"
    mutation = f'mutation {{ createProduct(input: {{name: "{name}", price: "1.00"}}) {{ id }} }}'
    body = json.dumps({"query": mutation})
    admin = f"Bearer {make_token('boss', 'admin')}"
    refused = httpx.post(
        platform.gateway.base_url + "/graphql",
        content=body,
        headers={"Content-Type": content_type, "Authorization": admin},
        timeout=30,
    )
    assert refused.status_code == 400
    assert _code(refused) == "CSRF_ERROR"
    # with the header the request is no longer simple, and the body's own rules apply
    with_header = httpx.post(
        platform.gateway.base_url + "/graphql",
        content=body,
        headers={"Content-Type": content_type, "Authorization": admin, **PREFLIGHT},
        timeout=30,
    )
    assert with_header.status_code == 415
    found = platform.graphql(f'{{ products(filter: {{q: "{name}"}}) {{ total }} }}')
    assert found.json()["data"]["products"]["total"] == 0


def test_json_posts_need_no_header(platform: Platform) -> None:
    for content_type in ("application/json", "application/graphql-response+json; charset=utf-8"):
        response = httpx.post(
            platform.gateway.base_url + "/graphql",
            content=json.dumps({"query": "{ products(limit: 1) { total } }"}),
            headers={"Content-Type": content_type},
            timeout=30,
        )
        assert response.status_code == 200, (content_type, response.text)


def test_rest_routes_are_not_graphql_requests(platform: Platform) -> None:
    # they run their operations in process: no preflight header, no CSRF check
    assert httpx.get(platform.gateway.base_url + "/products?limit=1", timeout=30).status_code == 200


# automatic persisted queries


def test_apq_over_post_not_found_then_registered_then_by_hash(platform: Platform) -> None:
    query = _unique_query()
    digest = _sha256(query)
    missing = _post(platform, {"extensions": _persisted(digest)})
    assert missing.status_code == 200
    error = missing.json()["errors"][0]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert missing.headers["cache-control"] == "no-store"

    registered = _post(platform, {"query": query, "extensions": _persisted(digest)})
    assert registered.status_code == 200, registered.text
    by_hash = _post(platform, {"extensions": _persisted(digest)})
    assert by_hash.status_code == 200, by_hash.text
    assert by_hash.json()["data"] == registered.json()["data"]
    assert (
        by_hash.json()["extensions"]["cost"]["requestedQueryCost"]
        == registered.json()["extensions"]["cost"]["requestedQueryCost"]
    )


def test_apq_a_hash_that_does_not_match_its_query_is_400_and_not_kept(
    platform: Platform,
) -> None:
    query = _unique_query()
    wrong = _sha256(query + " ")
    mismatch = _post(platform, {"query": query, "extensions": _persisted(wrong)})
    assert mismatch.status_code == 400
    assert _code(mismatch) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert _code(_post(platform, {"extensions": _persisted(wrong)})) == "PERSISTED_QUERY_NOT_FOUND"


def test_apq_a_document_that_does_not_validate_is_not_kept(platform: Platform) -> None:
    query = f"{{ noSuchField{uuid.uuid4().hex} }}"
    digest = _sha256(query)
    invalid = _post(platform, {"query": query, "extensions": _persisted(digest)})
    assert invalid.status_code == 400
    assert _code(invalid) == "GRAPHQL_VALIDATION_FAILED"
    assert _code(_post(platform, {"extensions": _persisted(digest)})) == "PERSISTED_QUERY_NOT_FOUND"


def test_apq_a_malformed_hash_or_version_is_a_400(platform: Platform) -> None:
    bad_hash = _post(platform, {"extensions": _persisted("not-a-sha256")})
    assert bad_hash.status_code == 400 and _code(bad_hash) == "BAD_REQUEST"
    version = {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}
    bad_version = _post(platform, {"extensions": version})
    assert bad_version.status_code == 400
    assert _code(bad_version) == "PERSISTED_QUERY_NOT_SUPPORTED"


def test_apq_over_get_not_found_then_registered_then_by_hash(platform: Platform) -> None:
    query = _unique_query()
    digest = _sha256(query)
    missing = _get(platform, extensions=_persisted(digest))
    assert missing.status_code == 200
    assert _code(missing) == "PERSISTED_QUERY_NOT_FOUND"
    mismatch = _get(platform, query=query, extensions=_persisted(_sha256("{ other }")))
    assert mismatch.status_code == 400 and _code(mismatch) == "PERSISTED_QUERY_HASH_MISMATCH"
    registered = _get(platform, query=query, extensions=_persisted(digest))
    assert registered.status_code == 200, registered.text
    by_hash = _get(platform, extensions=_persisted(digest))
    assert by_hash.status_code == 200, by_hash.text
    assert by_hash.json()["data"] == registered.json()["data"]
    assert by_hash.headers["cache-control"] == "no-store"


def test_apq_a_mutation_registered_over_post_is_still_405_by_hash_over_get(
    platform: Platform, make_token: Callable[..., str]
) -> None:
    admin = {"Authorization": f"Bearer {make_token('boss', 'admin')}"}
    mutation = f'mutation {{ deleteProduct(id: "{"0" * 24}") }}  # {uuid.uuid4().hex}'
    digest = _sha256(mutation)
    registered = _post(platform, {"query": mutation, "extensions": _persisted(digest)}, **admin)
    assert registered.status_code == 200, registered.text
    over_get = _get(platform, {**PREFLIGHT, **admin}, extensions=_persisted(digest))
    assert over_get.status_code == 405
    assert _code(over_get) == "MUTATION_FORBIDDEN"
