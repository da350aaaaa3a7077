"""Drift between a live answer and its cassette: shape, finish reasons, tool names, stream framing."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from typing import Any

import httpx

from nim_mock.cassette import Event, Interaction, RecordedRequest, RecordedResponse
from nim_mock.plugin.drift import describe_drift
from nim_mock.plugin.tee import TeeAsyncTransport, TeeTransport
from nim_mock.record.proxy import Recording

REQUEST = RecordedRequest("POST", "/v1/chat/completions", body={"model": "m", "messages": []})


def body(finish: str = "stop", content: Any = "hi", tools: tuple[str, ...] = (), **extra: Any) -> Interaction:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tools:
        message["tool_calls"] = [
            {"id": f"c{i}", "function": {"name": n, "arguments": "{}"}} for i, n in enumerate(tools)
        ]
    document = {"id": "x", "choices": [{"index": 0, "message": message, "finish_reason": finish}], **extra}
    return Interaction(REQUEST, RecordedResponse(200, body=json.dumps(document).encode()))


def stream(count: int, done: bool = True) -> Interaction:
    chunk = b'data: {"choices":[{"delta":{"content":"a"},"finish_reason":null}]}\n\n'
    events = [Event(float(i), chunk) for i in range(count)]
    if done:
        events.append(Event(float(count), b"data: [DONE]\n\n"))
    return Interaction(REQUEST, RecordedResponse(200, events=tuple(events)))


W = "#1 POST /v1/chat/completions: "
"""How every sentence about the first exchange starts: which exchange, then ``compare_shape``'s words."""


def test_same_shape_different_words_is_no_drift() -> None:
    assert describe_drift([body(content="hello")], [body(content="something else entirely")]) == []
    assert describe_drift([stream(5)], [stream(8)]) == []


def test_contract_changes_are_reported() -> None:
    assert describe_drift([body()], [body(finish="length")]) == [
        W + "finish_reason: recorded stop, live length"
    ]
    assert describe_drift([body(tools=("a",))], [body(tools=("b",))]) == [
        W + "tool calls: recorded a(), live b()"
    ]
    assert describe_drift([body()], [body(content=None, usage={"total_tokens": 3})]) == [
        W + "types: `choices[].message.content` was recorded as string, live it is null",
        W + "keys: `usage` (object) is new live, not in the recording",
        W + "keys: `usage.total_tokens` (number) is new live, not in the recording",
        W + "usage: recorded absent, live present",
    ]
    assert describe_drift([body(usage={"t": 1})], [body()]) == [
        W + "keys: `usage` (object) was recorded but is missing live",
        W + "keys: `usage.t` (number) was recorded but is missing live",
        W + "usage: recorded present, live absent",
    ]


def test_stream_framing_changes_are_reported() -> None:
    assert describe_drift([stream(5)], [stream(5, done=False)]) == [
        W + "[DONE]: recorded stream ends with data: [DONE], live does not"
    ]
    assert describe_drift([stream(10)], [stream(1)]) == [
        W + "events: recorded 11, live 2 (outside 0.25x-4x of the recording)"
    ]
    assert (
        describe_drift([stream(3)], [body()])[0]
        == W + "body: recorded a stream of events, live a single body"
    )


def test_status_and_cyclic_order() -> None:
    failed = Interaction(REQUEST, replace(body().response, status=404))
    assert describe_drift([body(), body()], [failed]) == [W + "status: recorded 200, live 404"]
    # A shared cassette replays cyclically; so is it compared.
    assert describe_drift([body()], [body(), body(), failed]) == [
        "#3 POST /v1/chat/completions: status: recorded 200, live 404",
    ]
    assert describe_drift([], [body()]) == []


def test_another_request_at_a_position_is_named_not_compared() -> None:
    models = Interaction(RecordedRequest("GET", "/v1/models"), RecordedResponse(200, body=b'{"data":[]}'))
    assert describe_drift([body()], [models]) == [
        "#1 GET /v1/models: recorded POST /v1/chat/completions at this position"
    ]


def test_a_long_report_is_cut_with_a_count() -> None:
    empty = Interaction(REQUEST, RecordedResponse(404, body=b"{}"))
    one = describe_drift([body()], [empty])
    assert len(one) == 9  # status, seven keys gone, finish_reason
    lines = describe_drift([body()], [empty, empty])
    assert lines == [*one, *(line.replace("#1", "#2") for line in one[:3]), "... and 6 more"]


SSE = b'data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: [DONE]\n\n'


def upstream(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/stream"):
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=SSE)
    raw = gzip.compress(b'{"ok":true}')
    return httpx.Response(
        200, headers={"content-type": "application/json", "content-encoding": "gzip"}, content=raw
    )


def test_the_sync_tee_keeps_a_decoded_copy() -> None:
    copy = Recording()
    with httpx.Client(transport=TeeTransport(copy, httpx.MockTransport(upstream))) as client:
        assert client.post("http://h/v1/plain?x=1", json={"a": 1}).json() == {"ok": True}
        with client.stream("POST", "http://h/v1/stream", json={}) as response:
            assert b"".join(response.iter_bytes()) == SSE
    assert copy.wait_idle(1)
    plain, streamed = copy.interactions
    assert plain.request.path == "/v1/plain?x=1"
    assert plain.request.body == {"a": 1}
    assert plain.response.body == b'{"ok":true}'
    assert streamed.response.events is not None
    assert [e.raw for e in streamed.response.events] == [SSE[:-14], b"data: [DONE]\n\n"]


async def test_the_async_tee_keeps_a_copy() -> None:
    copy = Recording()
    async with httpx.AsyncClient(transport=TeeAsyncTransport(copy, httpx.MockTransport(upstream))) as client:
        response = await client.post("http://h/v1/stream", json={})
        assert response.content == SSE
    [exchange] = copy.interactions
    assert exchange.response.events is not None
    assert len(exchange.response.events) == 2
