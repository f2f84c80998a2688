"""The pure parts of persisted operations: the APQ store's bound, which document a request
names, the manifest's format, GET's parameters, and which requests the CSRF check asks for a
preflight header."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from graphql import parse, validate

from gateway.entrypoints.csrf import has_preflight_header, needs_preflight_proof
from gateway.entrypoints.http_get import request_of, wants_playground
from gateway.entrypoints.persisted_queries import ApqStore, PersistedDocuments, Refused
from gateway.entrypoints.trusted_documents import (
    Manifest,
    ManifestError,
    TrustedMode,
    introspection_only,
)
from gateway.federation.supergraph import Supergraph


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _manifest(*bodies: str) -> Manifest:
    operations = [{"id": _sha(b), "name": "", "type": "query", "body": b} for b in bodies]
    content = {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
    return Manifest.parse(json.dumps(content).encode(), max_tokens=1_000)


def _scope(method: str, query_string: bytes = b"", **headers: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": "/graphql",
        "query_string": query_string,
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


def test_the_apq_store_keeps_the_most_recently_used_texts_within_its_bytes() -> None:
    store = ApqStore(max_bytes=3 * (64 + 100 + 200))
    texts = {_sha(str(n) * 100): str(n) * 100 for n in range(4)}
    keys = list(texts)
    for key in keys[:3]:
        store.keep(key, texts[key])
    assert store.get(keys[0]) == texts[keys[0]]  # now the most recently used
    store.keep(keys[3], texts[keys[3]])
    assert store.get(keys[1]) is None  # the least recently used went
    assert store.get(keys[0]) is not None and store.get(keys[3]) is not None
    assert store.held_bytes <= store.max_bytes
    store.keep("big", "x" * store.max_bytes)  # larger than the whole store: never kept
    assert store.get("big") is None and len(store) == 3


def test_apq_registers_only_what_validated_and_finds_it_by_hash() -> None:
    documents = PersistedDocuments(ApqStore(1 << 20))
    query = "{ a }"
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": _sha(query).upper()}}
    with pytest.raises(Refused) as missing:
        documents.resolve({"extensions": persisted})
    assert (missing.value.status, missing.value.code) == (200, "PERSISTED_QUERY_NOT_FOUND")
    document = documents.resolve({"query": query, "extensions": persisted})
    with pytest.raises(Refused):  # not kept until the pipeline says it validated
        documents.resolve({"extensions": persisted})
    documents.validated(document)
    assert documents.resolve({"extensions": persisted}).text == query


def test_apq_off_says_not_supported() -> None:
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": "a" * 64}}
    with pytest.raises(Refused) as refused:
        PersistedDocuments(None).resolve({"extensions": persisted})
    assert refused.value.code == "PERSISTED_QUERY_NOT_SUPPORTED"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "BAD_REQUEST"),
        ({"query": 1}, "BAD_REQUEST"),
        ({"query": "{ a }", "extensions": []}, "BAD_REQUEST"),
        ({"extensions": {"persistedQuery": "x"}}, "BAD_REQUEST"),
        ({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "g" * 64}}}, "BAD_REQUEST"),
        ({"documentId": ""}, "BAD_REQUEST"),
        (
            {
                "query": "{ a }",
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}},
            },
            "PERSISTED_QUERY_HASH_MISMATCH",
        ),
    ],
)
def test_requests_naming_no_runnable_document_are_refused_with_a_code(
    body: dict[str, Any], code: str
) -> None:
    with pytest.raises(Refused) as refused:
        PersistedDocuments(ApqStore(1 << 20)).resolve(body)
    assert refused.value.code == code and refused.value.status == 400


def test_strict_mode_runs_manifest_ids_texts_and_introspection_only() -> None:
    listed = "query Listed { a }"
    documents = PersistedDocuments(ApqStore(1 << 20), TrustedMode.STRICT, _manifest(listed))
    assert documents.resolve({"documentId": _sha(listed)}).text == listed
    assert documents.resolve({"doc_id": _sha(listed)}).text == listed
    assert documents.resolve({"query": "query Listed {\n  a\n}  # same"}).text
    assert documents.resolve({"query": "{ __typename __schema { types { name } } }"}).text
    for body in ({"query": "{ b }"}, {"documentId": _sha("{ b }")}, {"query": "{ a __typename }"}):
        with pytest.raises(Refused) as refused:
            documents.resolve(body)
        assert (refused.value.status, refused.value.code) == (400, "PERSISTED_QUERY_NOT_IN_LIST")


def test_log_unknown_logs_each_unknown_text_once(caplog: pytest.LogCaptureFixture) -> None:
    documents = PersistedDocuments(None, TrustedMode.LOG_UNKNOWN, _manifest("{ a }"))
    for _ in range(3):
        documents.resolve({"query": "{ b }", "operationName": None})
    documents.resolve({"query": "{ a }"})
    assert [r.getMessage() for r in caplog.records] == ["unknown operation"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"[", "not JSON"),
        (b'{"format": "other", "version": 1, "operations": []}', "format"),
        (b'{"format": "apollo-persisted-query-manifest", "version": 2}', "version"),
        (b'{"format": "apollo-persisted-query-manifest", "version": 1, "operations": {}}', "list"),
        (
            b'{"format": "apollo-persisted-query-manifest", "version": 1, '
            b'"operations": [{"id": "x", "body": "{ a"}]}',
            "not GraphQL",
        ),
        (
            b'{"format": "apollo-persisted-query-manifest", "version": 1, "operations": '
            b'[{"id": "x", "body": "{ a }"}, {"id": "x", "body": "{ b }"}]}',
            "two different bodies",
        ),
    ],
)
def test_a_manifest_that_cannot_be_served_says_why(content: bytes, reason: str) -> None:
    with pytest.raises(ManifestError, match=reason):
        Manifest.parse(content, max_tokens=1_000)


def test_introspection_only_looks_through_fragments() -> None:
    assert introspection_only(
        parse("query { ...F } fragment F on Query { __schema { types { name } } }")
    )
    assert not introspection_only(parse("query { ...F } fragment F on Query { products }"))
    assert not introspection_only(parse("fragment F on Query { __typename }"))


def test_get_parameters_become_the_request_body() -> None:
    body = request_of(b"query=%7B+a+%7D&variables=%7B%22n%22%3A1%7D&operationName=N&other=x")
    assert body == {"query": "{ a }", "variables": {"n": 1}, "operationName": "N"}
    assert request_of(b"query=a&query=b") == "`query` is given twice"
    assert request_of(b"extensions=1") == "`extensions` must be a JSON object"
    assert "more than" in str(request_of(b"&".join(b"p%d=1" % n for n in range(40))))


@pytest.mark.parametrize(
    ("query_string", "accept", "playground"),
    [
        (b"", "text/html,application/xhtml+xml,*/*;q=0.8", True),  # a browser
        (b"", "*/*", True),  # curl, an old link
        (b"", "", True),
        (b"", "application/json", False),  # a client without its query: a 400 says so
        (b"query=%7Ba%7D", "text/html,*/*;q=0.8", True),  # a link followed: nothing runs
        (b"query=%7Ba%7D", "*/*", False),
        (b"extensions=%7B%7D", "application/graphql-response+json", False),
        (b"documentId=abc", "", False),
    ],
)
def test_a_get_is_the_playground_or_an_operation(
    query_string: bytes, accept: str, playground: bool
) -> None:
    scope = _scope("GET", query_string, accept=accept) if accept else _scope("GET", query_string)
    assert wants_playground(scope) is playground
    assert needs_preflight_proof(scope) is not playground


@pytest.mark.parametrize(
    ("content_type", "needs"),
    [
        ("application/json", False),
        ("application/json; charset=utf-8", False),
        ("Application/GraphQL-Response+JSON", False),
        ("text/plain", True),
        ("application/x-www-form-urlencoded", True),
        ("multipart/form-data; boundary=x", True),
        ("application/graphql", True),
        ("", True),
    ],
)
def test_a_post_needs_a_preflight_header_unless_it_is_json(content_type: str, needs: bool) -> None:
    headers = {"content_type": content_type} if content_type else {}
    assert needs_preflight_proof(_scope("POST", **headers)) is needs


def test_a_preflight_header_counts_only_when_not_empty() -> None:
    assert has_preflight_header(_scope("GET", apollo_require_preflight="true"))
    assert has_preflight_header(_scope("GET", x_apollo_operation_name="Products"))
    assert not has_preflight_header(_scope("GET", apollo_require_preflight=" "))
    assert not has_preflight_header(_scope("GET"))


def test_the_committed_manifest_is_current_and_every_operation_validates() -> None:
    import pq_manifest  # tools/, on the test path

    assert pq_manifest.OUTPUT.read_text() == pq_manifest.rendered(), "run `make pq-manifest`"
    manifest = json.loads(pq_manifest.OUTPUT.read_text())
    supergraph = Supergraph.parse((pq_manifest.ROOT / "gateway" / "supergraph.graphql").read_text())
    names = {o["name"] for o in manifest["operations"]}
    assert {"RestCreateProduct", "RestListProducts", "RestCreateOrder"} <= names
    for operation in manifest["operations"]:
        assert operation["id"] == _sha(operation["body"])
        errors = validate(supergraph.validation_schema(), parse(operation["body"]))
        assert not errors, (operation["name"], errors)
