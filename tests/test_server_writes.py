"""turnout's protocols send a small response, or a batch of large writes, in one system call, and hold nothing back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from turnout.server import BATCH_LIMIT, HOLD_LIMIT, CoalescingTransport
from turnout.testing import run_server


class FakeTransport:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def writelines(self, data: Any) -> None:
        self.calls.append(("writelines", b"".join(data)))

    def write_eof(self) -> None:
        self.calls.append(("write_eof", None))

    def close(self) -> None:
        self.calls.append(("close", None))
        self.closing = True

    def abort(self) -> None:
        self.calls.append(("abort", None))
        self.closing = True

    def set_protocol(self, protocol: object) -> None:
        self.calls.append(("set_protocol", protocol))

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


@pytest.mark.anyio
async def test_headers_and_a_small_body_leave_in_one_call() -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert fake.calls == [] and transport.get_write_buffer_size() == 7 + 19
    transport.write(b"hello")
    assert fake.calls == [("writelines", b"HTTP/1.1 200 OK\r\n\r\nhello")]
    await asyncio.sleep(0)  # the scheduled flush finds nothing left
    assert len(fake.calls) == 1


@pytest.mark.anyio
async def test_a_lone_write_leaves_on_the_loops_next_turn() -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"headers")
    await asyncio.sleep(0)
    assert fake.calls == [("write", b"headers")]


@pytest.mark.anyio
async def test_large_writes_of_one_turn_leave_together_and_order_is_kept() -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    big = b"x" * (HOLD_LIMIT + 1)
    transport.write(b"headers")
    transport.write(big)
    transport.write(big)
    assert fake.calls == []  # a download's chunks wait for the rest of the batch
    await asyncio.sleep(0)
    assert fake.calls == [("writelines", b"headers" + big + big)]
    transport.write(big)
    transport.write(b"0\r\n\r\n")  # a small write after a large one: the end of a response, at once
    transport.writelines([b"b", b"c"])
    assert fake.calls[1:] == [("writelines", big + b"0\r\n\r\n"), ("writelines", b"bc")]


@pytest.mark.anyio
async def test_a_batch_leaves_at_once_when_it_reaches_its_limit() -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    chunk = b"y" * (BATCH_LIMIT // 4)
    for _ in range(3):
        transport.write(chunk)
    assert fake.calls == [] and transport.get_write_buffer_size() == 7 + 3 * len(chunk)
    transport.write(chunk)
    assert fake.calls == [("writelines", chunk * 4)]  # what one transport holds stays bounded
    assert transport.get_write_buffer_size() == 7


@pytest.mark.anyio
async def test_a_held_buffer_that_changes_afterwards_is_sent_as_it_was() -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    buffer = bytearray(b"first")
    transport.write(buffer)  # type: ignore[arg-type]
    buffer[:] = b"later"
    transport.write(b"")  # nothing to send: not a write
    await asyncio.sleep(0)
    assert fake.calls == [("write", b"first")]


@pytest.mark.anyio
@pytest.mark.parametrize("ending", ["close", "write_eof", "set_protocol"])
async def test_held_data_leaves_before_the_transport_closes_or_changes_hands(ending: str) -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"last words")
    if ending == "set_protocol":
        transport.set_protocol(object())  # type: ignore[arg-type]
    else:
        getattr(transport, ending)()
    assert fake.calls[0] == ("write", b"last words")
    assert fake.calls[1][0] == ending
    assert transport.get_extra_info("peername") == "info:peername"  # the rest is the real transport's


@pytest.mark.anyio
async def test_abort_drops_what_was_held_and_a_closed_transport_gets_nothing() -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"never sent")
    transport.abort()
    await asyncio.sleep(0)
    assert fake.calls == [("abort", None)]
    other = FakeTransport()
    transport = CoalescingTransport(other, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"too late")
    other.closing = True
    await asyncio.sleep(0)
    assert other.calls == []
    assert transport.is_closing()


async def slow_stream(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        await asyncio.sleep(0.6)
        yield b"late"

    return StreamingResponse(body(), media_type="text/plain")


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


@pytest.mark.server
@pytest.mark.parametrize("http", ["httptools", "h11"])
def test_headers_of_a_slow_stream_are_not_held_back(http: str) -> None:
    from turnout.server import protocol

    app = Starlette(routes=[Route("/slow", slow_stream), Route("/hello", hello)])
    with run_server(app, http=protocol(http)) as base, httpx.Client() as client:
        assert client.get(base + "/hello").text == "hello"
        started = time.monotonic()
        with client.stream("GET", base + "/slow") as response:
            headers_after = time.monotonic() - started
            assert response.status_code == 200
            assert response.read() == b"late"
        assert headers_after < 0.4  # the headers left at once, not with the body 0.6 s later
        for _ in range(3):  # keep-alive: the next responses on the same connection are whole
            assert client.get(base + "/hello").text == "hello"
