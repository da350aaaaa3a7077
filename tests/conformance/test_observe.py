"""``observe`` keeps what a client relies on and drops what two runs of one engine may change.

The real bytes come from ``cassettes/vllm/`` (recorded from vLLM 0.32); their observations are
snapshot-tested, so a change to what the battery compares shows up as a reviewed diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion

from nim_mock import Cassette, load_cassettes

from .observe import Answer, observe

RECORDINGS = Path(__file__).resolve().parents[2] / "cassettes" / "vllm"
RECORDED = {cassette.name: cassette for cassette in load_cassettes([RECORDINGS])}
JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream; charset=utf-8"


def _answer(cassette: Cassette) -> Answer:
    response = cassette.interactions[0].response
    body = b"".join(e.raw for e in response.events) if response.events is not None else response.body
    return Answer(response.status, response.header("content-type"), body)


def _json(name: str) -> Any:
    return json.loads(_answer(RECORDED[name]).body)


def _chat(body: Any) -> Answer:
    return Answer(200, JSON_TYPE, json.dumps(body).encode())


def _sse(*payloads: Any, done: bool = True) -> Answer:
    events = [b"data: " + json.dumps(p, separators=(",", ":")).encode() + b"\n\n" for p in payloads]
    return Answer(200, SSE_TYPE, b"".join(events) + (b"data: [DONE]\n\n" if done else b""))


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_observation_of_each_vllm_recording(name: str, snapshot: SnapshotAssertion) -> None:
    assert observe(_answer(RECORDED[name])) == snapshot


_text = st.text(max_size=30)


@given(identifier=_text, created=st.integers(0, 2**40), content=_text, tokens=st.integers(1, 10_000))
def test_ids_timestamps_wording_and_token_counts_are_not_observed(
    identifier: str, created: int, content: str, tokens: int
) -> None:
    body = _json("chat")
    changed = json.loads(json.dumps(body))
    changed.update(id=identifier, created=created)
    changed["choices"][0]["message"]["content"] = content or "x"
    usage = changed["usage"]
    usage.update(completion_tokens=tokens, total_tokens=usage["prompt_tokens"] + tokens)
    assert observe(_chat(changed)) == observe(_chat(body))


@given(key=st.text(min_size=1, max_size=12), value=st.one_of(st.integers(), st.text(), st.booleans()))
def test_a_new_non_null_key_is_observed_and_a_null_one_is_not(key: str, value: Any) -> None:
    body = _json("chat")
    if key in body:
        return
    assert observe(_chat({**body, key: None})) == observe(_chat(body))
    assert observe(_chat({**body, key: value}))["keys"] == sorted([*observe(_chat(body))["keys"], key])


def test_key_order_and_json_spacing_are_not_observed() -> None:
    body = _json("tools_auto")
    spaced = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()
    assert observe(Answer(200, JSON_TYPE, spaced)) == observe(_chat(body))


def test_usage_that_does_not_add_up_is_observed() -> None:
    body = _json("chat")
    body["usage"]["total_tokens"] += 1
    assert observe(_chat(body))["usage.adds_up"] is False


def test_tool_calls_are_observed_by_name_and_argument_keys() -> None:
    body = _json("tools_auto")
    call = body["choices"][0]["message"]["tool_calls"][0]
    assert observe(_chat(body))["choices[0].message.tool_calls"] == [
        {
            "keys": ["function", "id", "type"],
            "type": "function",
            "name": "get_weather",
            "argument_keys": ["city"],
        }
    ]
    call["function"]["arguments"] = "{not json"
    assert observe(_chat(body))["choices[0].message.tool_calls"][0]["argument_keys"] == "not JSON"


def test_errors_are_observed_nested_or_flat() -> None:
    nested = Answer(
        400, JSON_TYPE, b'{"error":{"message":"m","type":"BadRequestError","param":"n","code":400}}'
    )
    flat = Answer(
        400, JSON_TYPE, b'{"object":"error","message":"m","type":"BadRequestError","param":"n","code":400}'
    )
    for answer in (nested, flat):
        seen = observe(answer)
        assert (seen["error.type"], seen["error.param"], seen["error.message"]) == (
            "BadRequestError",
            "n",
            "m",
        )
    assert observe(nested)["keys"] != observe(flat)["keys"]


def test_bodies_that_are_not_json() -> None:
    assert observe(Answer(200, None, b""))["body"] == "empty"
    assert observe(Answer(404, "text/plain", b"Not Found"))["body"] == "text"
    metrics = observe(Answer(200, "text/plain", b"# TYPE vllm:num_requests_running gauge\nvllm:x 1\n"))
    assert metrics["metric_families"] == ["vllm:num_requests_running"]


CHUNK = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}


def _token(text: str, finish: str | None = None) -> Any:
    return {**CHUNK, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


USAGE = {**CHUNK, "choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}}


def test_stream_framing_done_and_usage_chunk() -> None:
    seen = observe(_sse(_token("Hi"), _token("", "stop"), USAGE))
    assert seen["stream.framing"] == "data lines"
    assert seen["stream.done"] == "last"
    assert seen["stream.usage_chunk"] == "last"
    assert seen["stream.usage.adds_up"] is True
    assert seen["stream.choices[0].finish_reasons"] == ["stop"]
    missing = observe(_sse(_token("Hi", "stop"), done=False))
    assert (missing["stream.done"], missing["stream.usage_chunk"]) == ("absent", "absent")
    early = observe(_sse(USAGE, _token("Hi", "stop")))
    assert early["stream.usage_chunk"] == "1 chunk(s), not last"


@pytest.mark.parametrize(
    ("body", "framing"),
    [
        (b"event: message\ndata: {}\n\n", "an event of several lines"),
        (b": keep-alive\n\ndata: [DONE]\n\n", "a comment line"),
        (b"event: ping\n\n", "a line of field 'event'"),
        (b"data: [DONE]", "unterminated last event"),
        (b"data: {}\r\n\r\ndata: [DONE]\r\n\r\n", "data lines"),
    ],
)
def test_stream_framing_names_what_breaks_one_data_line_per_event(body: bytes, framing: str) -> None:
    assert observe(Answer(200, SSE_TYPE, body))["stream.framing"] == framing


def test_streamed_tool_calls_are_assembled_as_a_client_does() -> None:
    seen = observe(_answer(RECORDED["tools_stream_auto"]))
    assert seen["stream.choices[0].tool_calls"][0]["name"] == "get_weather"
    assert seen["stream.choices[0].tool_calls"][0]["argument_keys"] == ["city"]
