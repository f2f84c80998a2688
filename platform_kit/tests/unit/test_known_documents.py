"""A subgraph parses and validates a document text once, then reuses it."""

from __future__ import annotations

from functools import partial

import pytest
import strawberry
import strawberry.schema.schema as strawberry_schema
from graphql import parse

from platform_kit.known_documents import KnownDocuments, ReuseKnownDocuments


@strawberry.type
class Query:
    @strawberry.field
    def hello(self, name: str = "you") -> str:
        return f"hello {name}"


def subgraph_schema(documents: KnownDocuments) -> strawberry.Schema:
    """As SubgraphSchema wires it (importing that module warns under pytest: Money scalar)."""
    return strawberry.Schema(
        query=Query, extensions=[partial(ReuseKnownDocuments, documents=documents)]
    )


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    counted: list[str] = []
    validate = strawberry_schema.validate_document

    def counting(*args: object) -> object:
        counted.append("validated")
        return validate(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(strawberry_schema, "validate_document", counting)
    return counted


async def test_a_repeated_document_is_validated_once(validations: list[str]) -> None:
    schema = subgraph_schema(KnownDocuments())
    for name in ("a", "b", "c"):
        result = await schema.execute("query($n: String!) { hello(name: $n) }", {"n": name})
        assert result.errors is None and result.data == {"hello": f"hello {name}"}
    assert validations == ["validated"]


async def test_an_invalid_document_is_refused_every_time(validations: list[str]) -> None:
    documents = KnownDocuments()
    schema = subgraph_schema(documents)
    for _ in range(2):
        result = await schema.execute("{ goodbye }")
        assert result.errors and "goodbye" in result.errors[0].message
    assert validations == ["validated", "validated"]
    assert len(documents) == 0


def test_the_least_recently_used_document_leaves_first_and_large_ones_never_stay() -> None:
    documents = KnownDocuments(max_documents=2, max_chars=20)
    for text in ("{ a }", "{ b }"):
        documents.keep(text, parse(text))
    assert documents.get("{ a }") is not None  # now the most recently used
    documents.keep("{ c }", parse("{ c }"))
    assert documents.get("{ b }") is None and documents.get("{ a }") is not None
    documents.keep("{ " + "x " * 20 + "}", parse("{ x }"))
    assert len(documents) == 2
