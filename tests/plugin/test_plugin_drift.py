"""Drift between a live answer and its cassette: shape, finish reasons, tool names, stream framing."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx

from nim_mock._plugin_drift import describe_drift, shape_of
from nim_mock._plugin_tee import TeeAsyncTransport, TeeTransport
from nim_mock._record import Recording
from nim_mock.cassette import Event, Interaction, RecordedRequest, RecordedResponse

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


def test_shape_of_merges_list_items() -> None:
    assert shape_of({"a": [1, "x", None], "b": {"c": True}}) == {
        "a": {"array"},
        "a.*": {"number", "string", "null"},
        "b": {"object"},
        "b.c": {"boolean"},
    }


def test_same_shape_different_words_is_no_drift() -> None:
    assert describe_drift([body(content="hello")], [body(content="something else entirely")]) == []
    assert describe_drift([stream(5)], [stream(8)]) == []


def test_contract_changes_are_reported() -> None:
    assert describe_drift([body()], [body(finish="length")]) == [
        "#1 POST /v1/chat/completions: finish reasons: recorded ['stop'], live ['length']"
    ]
    assert describe_drift([body(tools=("a",))], [body(tools=("b",))])[0].endswith(
        "tool calls: recorded ['a'], live ['b']"
    )
    assert describe_drift([body()], [body(content=None, usage={"total_tokens": 3})]) == [
        "#1 POST /v1/chat/completions: new field: usage (object)",
        "#1 POST /v1/chat/completions: new field: usage.total_tokens (number)",
        "#1 POST /v1/chat/completions: type changed at choices.*.message.content: recorded string, live null",
    ]
    assert describe_drift([body(usage={"t": 1})], [body()]) == [
        "#1 POST /v1/chat/completions: no longer sent: usage",
        "#1 POST /v1/chat/completions: no longer sent: usage.t",
    ]


def test_stream_framing_changes_are_reported() -> None:
    assert describe_drift([stream(5)], [stream(5, done=False)]) == [
        "#1 POST /v1/chat/completions: stream ends with [DONE]: recorded True, live False"
    ]
    assert describe_drift([stream(10)], [stream(2)]) == [
        "#1 POST /v1/chat/completions: event count: recorded 11, live 3 (outside half to double)"
    ]
    assert describe_drift([stream(3)], [body()]) == [
        "#1 POST /v1/chat/completions: recorded a stream, live sent one body"
    ]


def test_status_and_cyclic_order() -> None:
    failed = Interaction(REQUEST, RecordedResponse(404, body=b"{}"))
    assert describe_drift([body(), body()], [failed]) == [
        "#1 POST /v1/chat/completions: status: recorded 200, live 404",
    ]
    # A shared cassette replays cyclically; so is it compared.
    assert describe_drift([body()], [body(), body(), failed]) == [
        "#3 POST /v1/chat/completions: status: recorded 200, live 404",
    ]
    assert describe_drift([], [body()]) == []


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
