"""A consumer that stops reading a stream early gets its connection freed at once.

The response body below counts as "returned to the pool" once httpx closes it: httpx releases
the connection exactly when the response is closed. Async generators matter most here: Python
finalises an abandoned one only when the event loop gets round to it, so ``_astream`` closes its
layers itself (``contextlib.aclosing``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
from chat_fakes import BASE, MODEL, chunk, sse
from langchain_core.messages import HumanMessage
from nim_harness import ChatNVIDIA

_EVENTS = 1000


def _body() -> Iterator[bytes]:
    yield sse([chunk({"role": "assistant", "content": ""})], done=False)
    for index in range(_EVENTS):
        yield sse([chunk({"content": f"t{index} "})], done=False)
    yield b"data: [DONE]\n\n"


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A long SSE body that records how far it was read and whether it was closed."""

    def __init__(self) -> None:
        self.sent = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for piece in _body():
            self.sent += 1
            yield piece

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self:
            yield piece

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def _model(body: Body) -> ChatNVIDIA:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)

    transport = httpx.MockTransport(handler)
    return ChatNVIDIA(
        model=MODEL,
        base_url=BASE,
        api_key=None,
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
    )


def test_closing_a_sync_stream_early_closes_the_response() -> None:
    body = Body()
    stream = _model(body).stream("Hi")
    assert [next(stream).content for _ in range(3)] == ["", "t0 ", "t1 "]  # the header, then tokens
    assert not body.closed
    stream.close()
    assert body.closed
    assert body.sent < _EVENTS  # nobody read the rest of the body to get there


def test_closing_our_sync_layer_early_closes_the_response() -> None:
    body = Body()
    layer = _model(body)._stream([HumanMessage("Hi")])
    next(layer)
    layer.close()
    assert body.closed


async def test_closing_our_async_layer_early_closes_the_response_at_once() -> None:
    body = Body()
    layer = _model(body)._astream([HumanMessage("Hi")])
    assert [(await anext(layer)).text for _ in range(2)] == ["", "t0 "]
    await layer.aclose()
    assert body.closed  # right away: no waiting for the event loop to finalise anything
    assert body.sent < _EVENTS


async def test_a_stream_read_to_the_end_is_closed_too() -> None:
    body = Body()
    chunks = [chunk async for chunk in _model(body)._astream([HumanMessage("Hi")])]
    assert len(chunks) == 1 + _EVENTS  # the header chunk, then one per token
    assert body.closed
    assert body.sent == _EVENTS + 2
