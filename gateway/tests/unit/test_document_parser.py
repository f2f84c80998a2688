"""The request parser makes graphql-core's tree (node for node, location for location),
counts its nodes as settle does, and leaves every error and rare form to graphql-core."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLError, parse
from graphql.language import Node

from gateway.federation.document_parser import _Parser, _Unsupported, parse_request
from gateway.federation.prepared_cache import RELEASED, settle

ROOT = Path(__file__).resolve().parents[2]

# read by the parser itself
COMMON = [
    "{ a }",
    "{a{b{c}}}",
    "query { a }",
    "query Q { a }",
    "mutation M { a(x: 1) { b } }",
    "subscription S { onEvent { id } }",
    "query Q($id: ID!, $ids: [ID!]! = [], $n: Int = -3, $f: Float = 1.5e3) { a }",
    'query Q($x: [[String]!] = [["a"], null]) @dir(a: 1) @other { a }',
    "query Q($x: In = {a: 1, b: [1, 2.0, -0], c: {d: ENUM, e: true, f: false, g: null}}) { a }",
    "query ($v: Boolean @deprecated) { a }",
    'query Q($s: String = "plain text é ü 中文 😀") { a(s: $s, t: "x") }',
    '{ a: b(c: "", d: $v, e: [$v, {f: $w}], g: 1E-2, h: 0.5) @skip(if: $s) { ...F ... on T { x } } '
    "}",
    "{ ... @include(if: $i) { a } ...F @skip(if: true) ... { b } }",
    "fragment F on T { a ...G } fragment G on T @d { b }",
    "{ a } query B { b } mutation C { c }",
    "\ufeff  { a ,,, b\t\n\r\n c }  \n",
    "{ on: a on { on } fragment: b query: c }",
    "{ a(x: [[], {}]) }",
    "{ __typename a { __typename } }",
    "query Q { a(x: 9007199254740993, y: 1.7976931348623157e309) }",
]

# handed to graphql-core: comments, escapes, block strings, descriptions, type system
# definitions, and every syntax error
RARE = [
    "{ a } # a comment",
    "# first\n{ a }",
    '{ a(s: "with \\" escape") }',
    '{ a(s: "\\u00e9") }',
    '{ a(s: """block\n  string""") }',
    '{ a(s: "tab\there") }',
    '"described" query Q { a }',
    "type T { a: String }",
    "extend type T { b: Int }",
    "schema { query: Q }",
]
ERRORS = [
    "",
    "   ",
    "{",
    "{ a",
    "{ a } }",
    "{ a(: 1) }",
    "{ a(x: 01) }",
    "{ a(x: 1.) }",
    "{ a(x: 1.5.3) }",
    "{ a(x: 1e) }",
    "{ a(x: 1a) }",
    "{ a(x: -) }",
    "{ a(x: $) }",
    "{ a(x:) }",
    "{ a() }",
    "query Q($x: Int = $y) { a }",
    "query Q($x) { a }",
    "query Q() { a }",
    "fragment on on T { a }",
    "fragment F T { a }",
    "fragment F on T",
    "{ ..F }",
    "{ a @ }",
    '{ a(s: "unterminated) }',
    '{ a(s: "line\nbreak") }',
    "{ a | b }",
    "{ a & b }",
    "{ a ! }",
    "{ a } ?",
    "{ a } }",
    "query Q { a } extra",
    "{ ä }",
    "{ a ? b }",  # a character no token starts with, between tokens
    "{ a.b }",
    "{ a %b c }",
    "notakeyword { a }",
    "{ a: b: c }",
    "{ a(x: [1, 2) }",
    "{ a(x: {b 1}) }",
]


def _same(got: Any, want: Any, path: str = "document") -> None:
    """Equal, and of the same types all the way down (a tuple where graphql-core has a
    tuple, None where it has None), locations compared by offsets and source text."""
    assert type(got) is type(want), path
    if isinstance(want, tuple):
        assert len(got) == len(want), path
        for index, (a, b) in enumerate(zip(got, want, strict=True)):
            _same(a, b, f"{path}[{index}]")
    elif isinstance(want, Node):
        for key in want.keys:
            a, b = getattr(got, key), getattr(want, key)
            if key == "loc":
                assert (a.start, a.end, a.source.body) == (b.start, b.end, b.source.body), path
                assert a.source.name == b.source.name
                assert a.start_token is a.end_token is RELEASED, path  # nothing kept alive
            else:
                _same(a, b, f"{path}.{key}")
    else:
        assert got == want, path


def _reference(text: str, max_tokens: int | None = None) -> tuple[Any, int]:
    document = parse(text, max_tokens=max_tokens)
    return document, settle(document)


@pytest.mark.parametrize("text", COMMON)
def test_common_documents_are_read_here_and_match_graphql_core(text: str) -> None:
    _Parser(text, None).document()  # not handed over
    document, nodes = parse_request(text)
    want, want_nodes = _reference(text)
    _same(document, want)
    assert document == want
    assert nodes == want_nodes
    assert document.token_count == want.token_count  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", RARE)
def test_rare_forms_are_graphql_cores(text: str) -> None:
    with pytest.raises(_Unsupported):
        _Parser(text, None).document()
    document, nodes = parse_request(text)
    want, want_nodes = _reference(text)
    _same(document, want)
    assert nodes == want_nodes


def _same_error(text: str, max_tokens: int | None = None) -> GraphQLError:
    """graphql-core's parse and parse_request refuse `text` with the same error: ours."""
    with pytest.raises(GraphQLError) as want:
        parse(text, max_tokens=max_tokens)
    with pytest.raises(GraphQLError) as got:
        parse_request(text, max_tokens=max_tokens)
    assert got.value.formatted == want.value.formatted
    return got.value


@pytest.mark.parametrize("text", ERRORS)
def test_errors_are_graphql_cores(text: str) -> None:
    _same_error(text)


def test_the_token_limit_is_graphql_cores() -> None:
    text = "{ a b c d e }"  # 7 tokens
    document, _ = parse_request(text, max_tokens=7)
    _same(document, parse(text))
    refused = _same_error(text, max_tokens=6)
    assert refused.message.endswith("tokens. Parsing aborted.")  # what pipeline reads


def test_nesting_deeper_than_graphql_core_allows_is_its_error() -> None:
    _same_error("{ a " * 300 + "}" * 300)


def test_error_locations_come_from_the_nodes_locations() -> None:
    text = "query Q {\n  a\n  b {\n    c(x: 1)\n  }\n}"
    document, _ = parse_request(text)
    field = document.definitions[0].selection_set.selections[1]  # type: ignore[attr-defined]
    inner = field.selection_set.selections[0].arguments[0].value
    assert GraphQLError("x", [field, inner]).formatted["locations"] == [
        {"line": 3, "column": 3},
        {"line": 4, "column": 10},
    ]


def test_the_corpus_documents_match_graphql_core() -> None:
    """Every document the planner's tests and the persisted operations write."""
    operations = json.loads((ROOT / "persisted-queries.json").read_text())["operations"]
    texts = [op["body"] for op in operations]
    for test_file in ("test_plan_snapshots.py", "test_federation_cases.py", "test_defer.py"):
        source = (ROOT / "tests" / "unit" / test_file).read_text()
        texts += [part for part in source.split('"""') if "{" in part and "}" in part]
    checked = 0
    for text in texts:
        try:
            want, want_nodes = _reference(text)
        except GraphQLError:
            continue
        document, nodes = parse_request(text)
        _same(document, want)
        assert nodes == want_nodes
        checked += 1
    assert checked > 20


SCALARS = [
    "1",
    "-0",
    "3.25",
    "-1.5e-3",
    "2E10",
    '"str"',
    '""',
    '"ü 😀"',
    "true",
    "null",
    "RED",
    "$v",
]


def _random_document(rng: random.Random) -> str:
    """An executable document with every form the parser reads itself: operations of
    each type, variables with list and non-null types and defaults, arguments with every
    kind of value, directives, aliases, fragments, inline fragments, commas."""

    def value(depth: int = 0) -> str:
        roll = rng.random()
        if depth < 3 and roll < 0.15:
            return "[" + " ".join(value(depth + 1) for _ in range(rng.randint(0, 3))) + "]"
        if depth < 3 and roll < 0.3:
            fields = ", ".join(f"k{i}: {value(depth + 1)}" for i in range(rng.randint(0, 3)))
            return "{" + fields + "}"
        return rng.choice(SCALARS)

    def arguments() -> str:
        if rng.random() < 0.6:
            return ""
        return "(" + ", ".join(f"a{i}: {value()}" for i in range(rng.randint(1, 3))) + ")"

    def directives() -> str:
        if rng.random() < 0.7:
            return ""
        return " ".join(f"@d{i}{arguments()}" for i in range(rng.randint(1, 2)))

    def selection(depth: int) -> str:
        parts = []
        for _ in range(rng.randint(1, 4)):
            roll = rng.random()
            if depth > 0 and roll < 0.15:
                parts.append(f"... on T{directives()} {{ {selection(depth - 1)} }}")
            elif depth > 0 and roll < 0.22:
                parts.append(f"... {directives()} {{ {selection(depth - 1)} }}")
            elif roll < 0.3:
                parts.append(f"...F{rng.randint(0, 2)} {directives()}")
            else:
                alias = f"al{rng.randint(0, 9)}: " if rng.random() < 0.2 else ""
                inner = f" {{ {selection(depth - 1)} }}" if depth > 0 and rng.random() < 0.5 else ""
                parts.append(f"{alias}f{rng.randint(0, 5)}{arguments()} {directives()}{inner}")
        return ("," if rng.random() < 0.2 else " ").join(parts)

    def variable_type(depth: int = 0) -> str:
        if depth > 1 or rng.random() < 0.6:
            named = rng.choice(["Int", "String", "In"])
        else:
            named = f"[{variable_type(depth + 1)}]"
        return named + ("!" if rng.random() < 0.3 else "")

    definitions = []
    for number in range(rng.randint(1, 2)):
        variables = ""
        if rng.random() < 0.5:
            declared = []
            for index in range(rng.randint(1, 3)):
                default = f" = {rng.choice(['1', '[1, 2]', '{k: RED}', 'null'])}"
                declared.append(
                    f"$v{index}: {variable_type()}{default if rng.random() < 0.3 else ''}"
                )
            variables = "(" + " ".join(declared) + ")"
        kind = rng.choice(["query", "mutation", "subscription"])
        definitions.append(f"{kind} O{number}{variables}{directives()} {{ {selection(3)} }}")
    if rng.random() < 0.2:
        definitions = [f"{{ {selection(3)} }}"]
    for index in range(rng.randint(0, 2)):
        definitions.append(f"fragment F{index} on T{directives()} {{ {selection(2)} }}")
    return "\n".join(definitions)


def test_random_documents_match_graphql_core() -> None:
    rng = random.Random(22)
    for _ in range(300):
        text = _random_document(rng)
        _Parser(text, None).document()  # read here, not handed over
        document, nodes = parse_request(text)
        want, want_nodes = _reference(text)
        _same(document, want)
        assert nodes == want_nodes
