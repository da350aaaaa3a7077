"""The transport against a real uvicorn server on an ephemeral loopback port.

respx hands over whole bodies; only a real server shows incremental delivery, odd TCP chunking
and a connection that really drops mid-stream.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from nim_harness._errors import APIConnectionError, APITimeoutError
from nim_harness._http import (
    HTTPSettings,
    astream_events,
    build_async_client,
    build_client,
    request_json,
    stream_events,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route


def _app(gate: threading.Event) -> Starlette:
    async def gated(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b'data: {"n":1}\n\n'
            # The second event waits until the client has seen the first: proof of streaming.
            opened = await asyncio.to_thread(gate.wait, 10)
            yield f'data: {{"n":2,"gate":{str(opened).lower()}}}\n\n'.encode()
            # no [DONE], like transformers serve

        return StreamingResponse(body(), media_type="text/event-stream")

    async def ragged(request: Request) -> Response:
        raw = 'data: {"t":"a\u2028b é"}\r\n\r\ndata: {"t":"c"}\r\n\r\ndata: [DONE]\r\n\r\n'.encode()

        async def body() -> AsyncIterator[bytes]:
            for index in range(len(raw)):  # one byte per write: splits CRLF and UTF-8 sequences
                yield raw[index : index + 1]

        return StreamingResponse(body(), media_type="text/event-stream")

    async def drop(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b'data: {"n":1}\n\n'
            raise RuntimeError("worker crashed mid-stream")

        return StreamingResponse(body(), media_type="text/event-stream")

    polls: dict[str, int] = {}

    async def accepted(request: Request) -> Response:
        # The hosted gateway's queue: 202 + NVCF-REQID now, the answer from the status URL later.
        request_id = f"req-{len(polls)}"
        polls[request_id] = 0
        return Response(
            b"{}", status_code=202, headers={"NVCF-REQID": request_id}, media_type="application/json"
        )

    async def status(request: Request) -> Response:
        request_id = request.path_params["request_id"]
        polls[request_id] += 1
        if polls[request_id] < 3:
            return Response(b"", status_code=202)
        if request.headers.get("accept") == "text/event-stream":
            return StreamingResponse(
                iter([b'data: {"n":1}\n\n', b"data: [DONE]\n\n"]), media_type="text/event-stream"
            )
        return Response(b'{"done":true}', media_type="application/json")

    async def peer(request: Request) -> Response:
        # Which client port the request came from: the same port twice is the same connection.
        assert request.client is not None
        events = [f'data: {{"port":{request.client.port}}}\n\n'.encode(), b"data: [DONE]\n\n"]
        return StreamingResponse(iter(events), media_type="text/event-stream")

    async def slow(request: Request) -> Response:
        await asyncio.sleep(0.5)
        return Response(b"{}", media_type="application/json")

    return Starlette(
        routes=[
            Route("/v1/gated", gated, methods=["POST"]),
            Route("/v1/ragged", ragged, methods=["POST"]),
            Route("/v1/drop", drop, methods=["POST"]),
            Route("/v1/peer", peer, methods=["POST"]),
            Route("/v1/slow", slow, methods=["POST"]),
            Route("/v1/accepted", accepted, methods=["POST"]),
            Route("/status/{request_id}", status, methods=["GET"]),
        ]
    )


@pytest.fixture(scope="module")
def gate() -> threading.Event:
    return threading.Event()


@pytest.fixture(scope="module")
def server_url(gate: threading.Event) -> Iterator[str]:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_app(gate), log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


def settings_for(url: str, **overrides: Any) -> HTTPSettings:
    values: dict[str, Any] = {
        "base_url": url,
        "api_key": None,
        "timeout": 5.0,
        "max_retries": 1,
        "default_headers": {},
        "sleep": lambda seconds: None,
        "jitter": lambda: 0.0,
    }
    values.update(overrides)
    return HTTPSettings(**values)


def drain(events: Iterator[dict[str, Any]], seen: list[dict[str, Any]]) -> None:
    for event in events:
        seen.append(event)


async def adrain(events: AsyncIterator[dict[str, Any]], seen: list[dict[str, Any]]) -> None:
    async for event in events:
        seen.append(event)


def test_events_arrive_as_they_are_sent(server_url: str, gate: threading.Event) -> None:
    gate.clear()
    settings = settings_for(server_url)
    with build_client(settings) as client:
        events = stream_events(client, settings, "gated", {})
        assert next(events) == {"n": 1}
        gate.set()
        assert list(events) == [{"n": 2, "gate": True}]


async def test_async_events_arrive_as_they_are_sent(server_url: str, gate: threading.Event) -> None:
    gate.clear()
    settings = settings_for(server_url)
    async with build_async_client(settings) as client:
        events = astream_events(client, settings, "gated", {})
        assert await anext(events) == {"n": 1}
        gate.set()
        assert [event async for event in events] == [{"n": 2, "gate": True}]


def test_one_byte_writes_with_crlf_and_multibyte_text(server_url: str) -> None:
    settings = settings_for(server_url)
    with build_client(settings) as client:
        assert list(stream_events(client, settings, "ragged", {})) == [{"t": "a\u2028b é"}, {"t": "c"}]


def test_a_stream_ended_by_done_leaves_its_connection_for_the_next_call(server_url: str) -> None:
    settings = settings_for(server_url)
    with build_client(settings) as client:
        first = list(stream_events(client, settings, "peer", {}))
        second = list(stream_events(client, settings, "peer", {}))
    assert first == second, "the second stream came over a new connection"


async def test_async_stream_ended_by_done_leaves_its_connection_for_the_next_call(server_url: str) -> None:
    settings = settings_for(server_url)
    async with build_async_client(settings) as client:
        first = [event async for event in astream_events(client, settings, "peer", {})]
        second = [event async for event in astream_events(client, settings, "peer", {})]
    assert first == second, "the second stream came over a new connection"


def test_connection_dropped_mid_stream(server_url: str) -> None:
    settings = settings_for(server_url)
    seen: list[dict[str, Any]] = []
    with build_client(settings) as client, pytest.raises(APIConnectionError, match="after 1 event"):
        drain(stream_events(client, settings, "drop", {}), seen)
    assert seen == [{"n": 1}]


async def test_async_connection_dropped_mid_stream(server_url: str) -> None:
    settings = settings_for(server_url)
    seen: list[dict[str, Any]] = []
    async with build_async_client(settings) as client:
        with pytest.raises(APIConnectionError, match="after 1 event"):
            await adrain(astream_events(client, settings, "drop", {}), seen)
    assert seen == [{"n": 1}]


def test_connection_refused_is_retried_then_typed() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    settings = settings_for(f"http://127.0.0.1:{port}", sleep=sleeps.append, jitter=lambda: 0.5)
    with build_client(settings) as client, pytest.raises(APIConnectionError, match="ConnectError") as info:
        list(stream_events(client, settings, "chat/completions", {}))
    assert info.value.retries == 1
    assert len(sleeps) == 1


def test_read_timeout_is_typed(server_url: str) -> None:
    settings = settings_for(server_url, timeout=0.1, max_retries=0)
    with build_client(settings) as client, pytest.raises(APITimeoutError, match="ReadTimeout"):
        list(stream_events(client, settings, "slow", {}))


def test_202_polling_over_a_real_connection(server_url: str) -> None:
    polling_base = server_url.removesuffix("/v1") + "/status/"
    settings = settings_for(server_url, polling_base=polling_base, poll_interval=0.0)
    with build_client(settings) as client:
        assert request_json(client, settings, "POST", "accepted", {}) == {"done": True}
        assert list(stream_events(client, settings, "accepted", {})) == [{"n": 1}]


def test_injected_client_without_base_url_still_works(server_url: str) -> None:
    settings = settings_for(server_url)
    with httpx.Client() as client:
        assert list(stream_events(client, settings, "ragged", {}))[-1] == {"t": "c"}
