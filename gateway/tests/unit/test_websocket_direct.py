"""A frame written straight to a WebSocket's socket is the text frame a client's parser
reads back whole (every length encoding of RFC 6455 5.2), and the writer refuses, writing
nothing, whenever the frame could not go at once."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from gateway.entrypoints.websocket_direct import _writer, text_frame


def _parse(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    parser: Generator[None, None, Frame] = Frame.parse(
        reader.read_exact, mask=False, max_size=None, extensions=[]
    )
    try:
        next(parser)
    except StopIteration as done:
        assert not reader.buffer  # nothing left over: exactly one frame
        frame: Frame = done.value
        return frame
    raise AssertionError("the frame was incomplete")


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536, 200_000])
def test_a_text_frame_of_any_length_parses_back_whole(size: int) -> None:
    payload = b'{"x":"' + b"a" * max(0, size - 8) + b'"}'
    frame = _parse(text_frame(payload))
    assert frame.opcode is Opcode.TEXT and frame.fin
    assert not (frame.rsv1 or frame.rsv2 or frame.rsv3)
    assert frame.data == payload


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing

    def write(self, data: bytes) -> None:
        self.written.append(data)


class _Protocol:
    """The state of uvicorn's protocol that the writer reads."""

    def __init__(self) -> None:
        self.handshake_complete = True
        self.close_sent = False
        self.disconnected = False
        self.writable = asyncio.Event()
        self.writable.set()
        self.transport = _Transport()


@pytest.mark.parametrize(
    "state",
    [
        {"handshake_complete": False},
        {"close_sent": True},
        {"disconnected": True},
        {"paused": True},
        {"transport_closing": True},
    ],
)
def test_the_writer_refuses_when_the_frame_cannot_go_now(state: dict[str, Any]) -> None:
    protocol = _Protocol()
    write = _writer(protocol)  # type: ignore[arg-type]
    assert write(b"{}") is True
    for name, value in state.items():
        if name == "paused":
            protocol.writable.clear()
        elif name == "transport_closing":
            protocol.transport.closing = True
        else:
            setattr(protocol, name, value)
    assert write(b"{}") is False
    assert protocol.transport.written == [text_frame(b"{}")]
