"""@defer's multipart answer (entrypoints/multipart.py): who gets it, and its bytes as
Apollo Router sends them."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import pytest

from gateway.entrypoints.multipart import IncrementalAnswer, takes_incremental
from gateway.federation.pipeline import RequestError


def scope(*accept: str) -> dict[str, Any]:
    return {"headers": [(b"accept", value.encode()) for value in accept]}


@pytest.mark.parametrize(
    "accept",
    [
        "multipart/mixed;deferSpec=20220824",
        'multipart/mixed; deferSpec="20220824", application/json;q=0.9',
        "application/json, multipart/mixed;deferSpec=20220824",  # our GraphiQL's fetcher
        "Multipart/Mixed;DEFERSPEC=20220824",
    ],
)
def test_clients_that_take_the_parts(accept: str) -> None:
    assert takes_incremental(scope(accept))


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "*/*",
        'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json',
        "multipart/mixed;deferSpec=20990101",
        "application/json, multipart/mixed",  # no spec named: the contract's "any other"
        "multipart/mixed;q=0",
        "text/event-stream",
    ],
)
def test_clients_that_get_the_whole_answer(accept: str) -> None:
    assert not takes_incremental(scope(accept))


def test_no_accept_header_is_the_whole_answer() -> None:
    assert not takes_incremental({"headers": []})


async def _payloads(*payloads: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
    for payload in payloads:
        yield payload


async def _sent(answer: IncrementalAnswer) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        messages.append(message)

    await answer.send(send, [])
    return messages


async def test_the_parts_each_followed_by_the_next_delimiter_then_the_close() -> None:
    answer = IncrementalAnswer(
        _payloads(
            {"data": {"a": 1}, "hasNext": True},
            {"incremental": [{"data": {"b": 2}, "path": []}], "hasNext": False},
        ),
        {"cost": {"requestedQueryCost": 2}},
    )
    start, *bodies = await _sent(answer)
    assert start["status"] == 200
    assert (b"content-type", b'multipart/mixed; boundary="-"; deferSpec=20220824') in start[
        "headers"
    ]
    part = b"\r\ncontent-type: application/json; charset=utf-8\r\n\r\n"
    assert [b["body"] for b in bodies] == [
        b"\r\n---"
        + part
        + b'{"data":{"a":1},"hasNext":true,"extensions":{"cost":{"requestedQueryCost":2}}}'
        + b"\r\n---",
        part + b'{"incremental":[{"data":{"b":2},"path":[]}],"hasNext":false}\r\n---',
        b"--\r\n",
    ]
    assert [b.get("more_body", False) for b in bodies] == [True, True, False]


async def test_an_answer_that_defers_nothing_is_plain_json() -> None:
    answer = IncrementalAnswer(_payloads({"data": {"a": 1}}), {"cost": {}})
    start, body = await _sent(answer)
    assert (b"content-type", b"application/json") in start["headers"]
    assert body["body"] == b'{"data":{"a":1},"extensions":{"cost":{}}}'


async def test_an_operation_that_cannot_be_planned_is_a_400() -> None:
    async def refused() -> AsyncGenerator[dict[str, Any], None]:
        raise RequestError([{"message": "no", "extensions": {"code": "X"}}])
        yield {}  # pragma: no cover - makes this an async generator

    start, body = await _sent(IncrementalAnswer(refused(), {}))
    assert start["status"] == 400
    assert b'"code":"X"' in body["body"]
