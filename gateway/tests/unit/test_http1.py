"""The gateway's HTTP/1.1 client to subgraphs, against a scripted server on a real socket:
connections are kept and reused, answers are read whatever their framing, a connection the
caller stops waiting for is closed (the subgraph sees it), a kept connection the server
closed is replaced, at most `limit` connections are open, and a header cannot smuggle a
line break."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from gateway.federation.http1 import ConnectionPool, HttpFailure, Origin, header_block
from gateway.federation.transport import SubgraphTransport, SubgraphUnreachable
from platform_kit.request_context import current_authorization, current_request_id

HEADERS = header_block({"Content-Type": "application/json", "Authorization": "Bearer t"})
Answer = Callable[[bytes], bytes | None]  # request bytes -> raw answer; None: no answer
DROP = b""  # an answer: the connection is dropped, nothing said


def _ok(body: bytes = b'{"data":{}}', *, close: bool = False) -> bytes:
    extra = b"Connection: close\r\n" if close else b""
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


class Server:
    """Reads one request at a time per connection and answers as `answer` says."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self.closed_by_client = asyncio.Event()
        self.requests: list[bytes] = []
        self.request_came = asyncio.Event()
        self.writers: list[asyncio.StreamWriter] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                self.request_came.set()
                answer = self.answer(request)
                if answer == DROP:
                    writer.transport.abort()
                    return
                if answer is None:  # keep quiet until the client gives up
                    await reader.read()
                    self.closed_by_client.set()
                    return
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed_by_client.set()
        finally:
            self.open -= 1


@asynccontextmanager
async def serving(answer: Answer) -> AsyncIterator[tuple[Server, str]]:
    server = Server(answer)
    listener = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield server, f"http://127.0.0.1:{port}/graphql/reviews"
    finally:
        for writer in server.writers:
            writer.close()
        listener.close()


async def test_a_connection_is_kept_and_reused_and_the_request_is_what_was_asked() -> None:
    async with serving(lambda _: _ok()) as (server, url):
        pool = ConnectionPool(5.0, 2.0)
        assert await pool.post(url, HEADERS, b'{"query":"{a}"}') == (200, b'{"data":{}}')
        assert await pool.post(url, HEADERS, b'{"query":"{b}"}') == (200, b'{"data":{}}')
        await pool.close()
    assert server.connections == 1
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /graphql/reviews HTTP/1.1"
    assert b"Authorization: Bearer t" in lines and b"Content-Length: 15" in lines
    assert lines[1].startswith(b"Host: 127.0.0.1:") and body == b'{"query":"{a}"}'


async def test_a_chunked_answer_is_read_whole() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"dat\r\n6\r\na":{}}\r\n0\r\n\r\n'
    )
    async with serving(lambda _: chunked) as (server, url):
        pool = ConnectionPool(5.0, 2.0)
        assert await pool.post(url, HEADERS, b"{}") == (200, b'{"data":{}}')
        assert await pool.post(url, HEADERS, b"{}") == (200, b'{"data":{}}')
        await pool.close()
    assert server.connections == 1


async def test_an_answer_that_closes_its_connection_is_not_reused() -> None:
    async with serving(lambda _: _ok(close=True)) as (server, url):
        pool = ConnectionPool(5.0, 2.0)
        for _ in range(2):
            assert (await pool.post(url, HEADERS, b"{}"))[0] == 200
        await pool.close()
    assert server.connections == 2


@pytest.mark.parametrize("retry", [True, False])
async def test_a_kept_connection_dropped_unanswered_is_retried_for_a_query_only(
    retry: bool,
) -> None:
    # the second request, on the kept connection, finds it dropped before any answer
    answers = iter([_ok(), DROP, _ok()])
    async with serving(lambda _: next(answers)) as (server, url):
        pool = ConnectionPool(5.0, 2.0)
        assert (await pool.post(url, HEADERS, b"{}"))[0] == 200
        if retry:  # a query: sent again on a new connection
            assert (await pool.post(url, HEADERS, b"{}", retry=True))[0] == 200
        else:  # a mutation is never sent twice
            with pytest.raises(HttpFailure):
                await pool.post(url, HEADERS, b"{}", retry=False)
        await pool.close()
    assert len(server.requests) == (3 if retry else 2)
    assert server.connections == (2 if retry else 1)


async def test_a_call_past_its_deadline_fails_and_closes_its_connection() -> None:
    async with serving(lambda _: None) as (server, url):
        pool = ConnectionPool(0.2, 0.2)
        with pytest.raises(HttpFailure, match="TimeoutError"):
            await pool.post(url, HEADERS, b"{}")
        await asyncio.wait_for(server.closed_by_client.wait(), 10)
        assert len(pool) == 0
        await pool.close()


async def test_a_cancelled_call_closes_its_connection_so_the_subgraph_stops() -> None:
    async with serving(lambda _: None) as (server, url):
        pool = ConnectionPool(60.0, 2.0)
        call = asyncio.create_task(pool.post(url, HEADERS, b"{}"))
        await asyncio.wait_for(server.request_came.wait(), 10)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.wait_for(server.closed_by_client.wait(), 10)
        assert len(pool) == 0
        await pool.close()


async def test_no_more_than_the_limit_of_connections_is_open() -> None:
    async with serving(lambda _: _ok()) as (server, url):
        pool = ConnectionPool(5.0, 2.0, limit=2)
        answers = await asyncio.gather(*(pool.post(url, HEADERS, b"{}") for _ in range(10)))
        await pool.close()
    assert [status for status, _ in answers] == [200] * 10
    assert server.most_open <= 2


async def test_nobody_listening_is_a_failure() -> None:
    async with serving(lambda _: _ok()) as (_, url):
        pass  # closed: nothing listens on that port any more
    pool = ConnectionPool(5.0, 2.0)
    with pytest.raises(HttpFailure):
        await pool.post(url, HEADERS, b"{}")
    await pool.close()


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\0b"])
def test_a_header_cannot_carry_a_line_break(value: str) -> None:
    with pytest.raises(HttpFailure):
        header_block({"X-Client-Key": value})


def test_only_plain_http_urls_are_taken() -> None:
    assert Origin.of("http://[::1]:8080/g?x=1").head == (
        b"POST /g?x=1 HTTP/1.1\r\nHost: [::1]:8080\r\n"
    )
    with pytest.raises(ValueError, match="plain http"):
        Origin.of("https://example.com/graphql")


async def test_one_requests_calls_carry_its_own_headers_made_once() -> None:
    """The transport makes a request's subgraph headers (identity, request id, trace
    context) on its first call and reuses them for the others; another request, whose
    identity or request id differs, gets its own, never the first one's."""
    transport = SubgraphTransport(timeout=5, deduplicate=False)

    async def call(url: str, authorization: str, request_id: str) -> bytes:
        tokens = (current_authorization.set(authorization), current_request_id.set(request_id))
        try:
            await transport.post(url, b"{}", shareable=True)
        finally:
            current_request_id.reset(tokens[1])
            current_authorization.reset(tokens[0])
        return server.requests[-1]

    async with serving(lambda _request: _ok()) as (server, url):
        first = await call(url, "Bearer one", "r-1")
        again = await call(url, "Bearer one", "r-1")
        other = await call(url, "Bearer two", "r-2")
        assert b"Authorization: Bearer one\r\n" in first and b"X-Request-ID: r-1" in first
        assert first == again
        assert b"Authorization: Bearer two\r\n" in other and b"r-1" not in other
        assert len(transport._made) == 2
        with pytest.raises(SubgraphUnreachable):  # a header's line break stops the call
            await call(url, "Bearer x\r\nX-Injected: 1", "r-3")
    await transport.close()
