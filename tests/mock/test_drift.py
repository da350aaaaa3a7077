"""Drift report: one test per kind of difference, and no drift where only text, ids or timing differ."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nim_mock import (
    Event,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    bundled_cassettes_dir,
    load_cassettes,
)
from nim_mock.cassette import compact_json
from nim_mock.plugin.drift import compare_shape, shape_of

REQUEST = RecordedRequest("POST", "/v1/chat/completions", {}, {"model": "m", "messages": []})
BUNDLED = {c.name: c for c in load_cassettes([bundled_cassettes_dir()])}


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def _stream(*payloads: object, done: bool = True, status: int = 200) -> Interaction:
    events = [Event(float(i), b"data: " + compact_json(p) + b"\n\n") for i, p in enumerate(payloads)]
    if done:
        events.append(Event(float(len(events)), b"data: [DONE]\n\n"))
    headers = (("content-type", "text/event-stream"),)
    return Interaction(REQUEST, RecordedResponse(status, headers, events=tuple(events)))


def _body(payload: object, status: int = 200) -> Interaction:
    return Interaction(
        REQUEST, RecordedResponse(status, (("content-type", "application/json"),), compact_json(payload))
    )


def _text_stream(*words: str, finish: str = "stop", usage: bool = True, done: bool = True) -> Interaction:
    chunks: list[object] = [_chunk({"role": "assistant", "content": ""})]
    chunks += [_chunk({"content": w}) for w in words]
    chunks.append(_chunk({"content": ""}, finish))
    if usage:
        chunks.append({"id": "x", "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}})
    return _stream(*chunks, done=done)


def _message(content: object = "Hello", finish: str = "stop", **message: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }


def _call(name: str, arguments: str, index: int = 0) -> dict[str, Any]:
    return {
        "index": index,
        "id": f"call-{index}",
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def test_identical_recordings_have_no_drift() -> None:
    for cassette in BUNDLED.values():
        for interaction in cassette.interactions:
            assert compare_shape(interaction, interaction) == [], cassette.name


def test_layout_merges_list_items_and_skips_volatile_keys() -> None:
    document = {"id": "x", "a": [1, "x", None, {"created": 2}], "b": {"c": True, "system_fingerprint": "f"}}
    assert shape_of(_body(document).response).layout == {
        "$": {"object"},
        "a": {"array"},
        "a[]": {"number", "string", "null", "object"},
        "b": {"object"},
        "b.c": {"boolean"},
    }


def test_status() -> None:
    assert compare_shape(_body(_message()), _body(_message(), status=201)) == [
        "status: recorded 200, live 201"
    ]


def test_stream_versus_single_body() -> None:
    drift = compare_shape(_text_stream("a"), _body(_message()))
    assert "body: recorded a stream of events, live a single body" in drift


def test_json_versus_non_json_body() -> None:
    live = Interaction(REQUEST, RecordedResponse(200, (), b"Internal Server Error"))
    assert "body: recorded a JSON body, live a body that is not JSON" in compare_shape(
        _body(_message()), live
    )


def test_a_key_missing_live() -> None:
    recorded = _body({**_message(), "prompt_logprobs": None})
    assert compare_shape(recorded, _body(_message())) == [
        "keys: `prompt_logprobs` (null) was recorded but is missing live"
    ]


def test_a_key_new_live() -> None:
    live = _body(_message(reasoning_content="thinking"))
    assert compare_shape(_body(_message()), live) == [
        "keys: `choices[].message.reasoning_content` (string) is new live, not in the recording"
    ]


def test_a_changed_value_type() -> None:
    drift = compare_shape(_body(_message(content="Hi")), _body(_message(content=None, finish="stop")))
    assert drift == ["types: `choices[].message.content` was recorded as string, live it is null"]


def test_error_layouts_differ_in_keys() -> None:
    nim = _body({"object": "error", "message": "no model", "type": "NotFoundError", "code": 404}, 404)
    fastapi = _body({"detail": "no model"}, 404)
    drift = compare_shape(nim, fastapi)
    assert "keys: `detail` (string) is new live, not in the recording" in drift
    assert "keys: `message` (string) was recorded but is missing live" in drift


def test_finish_reason() -> None:
    drift = compare_shape(_text_stream("a", finish="stop"), _text_stream("a", finish="length"))
    assert drift == ["finish_reason: recorded stop, live length"]


def test_tool_call_names_and_argument_keys() -> None:
    recorded = _body(
        _message(content=None, finish="tool_calls", tool_calls=[_call("get_weather", '{"city": "Paris"}')])
    )
    other_name = _body(
        _message(content=None, finish="tool_calls", tool_calls=[_call("get_time", '{"city": "Oslo"}')])
    )
    other_keys = _body(
        _message(content=None, finish="tool_calls", tool_calls=[_call("get_weather", '{"town": "Paris"}')])
    )
    assert compare_shape(recorded, other_name) == [
        "tool calls: recorded get_weather(city), live get_time(city)"
    ]
    assert compare_shape(recorded, other_keys) == [
        "tool calls: recorded get_weather(city), live get_weather(town)"
    ]


def test_streamed_tool_calls_are_assembled_from_fragments() -> None:
    whole = _stream(_chunk({"tool_calls": [_call("get_weather", '{"city": "Paris"}')]}, "tool_calls"))
    fragments = _stream(
        _chunk({"tool_calls": [_call("get_weather", "")]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Rome"}'}}]}),
        _chunk({}, "tool_calls"),
    )
    assert (
        shape_of(whole.response).tool_calls
        == shape_of(fragments.response).tool_calls
        == ["get_weather(city)"]
    )
    parallel = _stream(
        _chunk(
            {
                "tool_calls": [
                    _call("get_weather", '{"city": "Paris"}'),
                    _call("get_weather", '{"city": "Rome"}', 1),
                ]
            },
            "tool_calls",
        )
    )
    assert compare_shape(whole, parallel) == [
        "tool calls: recorded get_weather(city), live get_weather(city), get_weather(city)"
    ]


def test_unparsable_tool_arguments_are_named() -> None:
    broken = _body(_message(content=None, finish="tool_calls", tool_calls=[_call("f", "{not json")]))
    assert shape_of(broken.response).tool_calls == ["f(<unparsable arguments>)"]


def test_usage_presence() -> None:
    drift = compare_shape(_text_stream("a", "b"), _text_stream("a", "b", usage=False))
    assert "usage: recorded present, live absent" in drift


def test_event_count_outside_the_range() -> None:
    recorded = _text_stream(*["w"] * 20)  # 24 events: 6 to 96 are fine
    assert compare_shape(recorded, _text_stream(*["w"] * 80)) == []  # 84 events
    assert compare_shape(recorded, _text_stream("w", "w")) == []  # 6 events
    drift = compare_shape(recorded, _text_stream(*["w"] * 100))  # 104 events
    assert drift == ["events: recorded 24, live 104 (outside 0.25x-4x of the recording)"]
    assert compare_shape(recorded, _text_stream("w")) == [
        "events: recorded 24, live 5 (outside 0.25x-4x of the recording)"
    ]


def test_done_marker() -> None:
    drift = compare_shape(_text_stream("a"), _text_stream("a", done=False))
    assert drift == ["[DONE]: recorded stream ends with data: [DONE], live does not"]
    reverse = compare_shape(_text_stream("a", done=False), _text_stream("a"))
    assert reverse == ["[DONE]: live stream ends with data: [DONE], the recording does not"]


def test_unparsable_events() -> None:
    live = _text_stream("a")
    garbled = replace(
        live.response,
        events=(*live.response.events[:-1], Event(9.0, b"data: {oops\n\n"), live.response.events[-1]),  # type: ignore[index]
    )
    drift = compare_shape(live, Interaction(REQUEST, garbled))
    assert drift == ["data: recorded 0 event(s) neither JSON nor [DONE], live 1"]


def test_vllm_recording_against_transformers_serve(snapshot: Any) -> None:
    """The real differences between two servers, as a user would read them."""
    vllm = BUNDLED["chat/stream_usage"].interactions[0]
    transformers = BUNDLED["transformers/stream"].interactions[0]
    assert compare_shape(vllm, transformers) == snapshot


# -- no drift where only text, ids and timing differ -------------------------------------------------

_TEXT_KEYS = frozenset({"content", "reasoning_content", "text", "id", "model", "message"})
_ALPHABET = 'abcdefghijklmnopqrstuvwxyz ÄéЖ漢字😀\n"\\'


def _vary(value: Any, rnd: random.Random) -> Any:
    """``value`` with every text, id and timestamp replaced by a random one of the same type."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in _TEXT_KEYS and isinstance(item, str):
                out[key] = "".join(rnd.choices(_ALPHABET, k=rnd.randint(0, 12)))
            elif key == "created" and isinstance(item, int):
                out[key] = rnd.randint(0, 2**31)
            else:
                out[key] = _vary(item, rnd)
        return out
    if isinstance(value, list):
        return [_vary(item, rnd) for item in value]
    return value


def _vary_event(event: Event, t_ms: float, rnd: random.Random) -> Event:
    prefix = b"data: "
    if event.raw.startswith(prefix) and event.raw.endswith(b"\n\n") and event.raw != b"data: [DONE]\n\n":
        try:
            data = json.loads(event.raw[len(prefix) : -2])
        except ValueError:
            return Event(t_ms, event.raw)
        return Event(t_ms, prefix + compact_json(_vary(data, rnd)) + b"\n\n")
    return Event(t_ms, event.raw)


def varied(interaction: Interaction, rnd: random.Random) -> Interaction:
    """The same exchange as another call would give it: new texts, ids, timestamps and timing."""
    response = interaction.response
    if response.events is not None:
        times = sorted(rnd.uniform(0, 5000) for _ in response.events)
        events = tuple(_vary_event(e, t, rnd) for e, t in zip(response.events, times, strict=True))
        return Interaction(
            interaction.request, replace(response, events=events, t_headers_ms=rnd.uniform(0, 99))
        )
    try:
        body = json.loads(response.body)
    except ValueError:
        return interaction
    return Interaction(interaction.request, replace(response, body=compact_json(_vary(body, rnd))))


ALL_INTERACTIONS = [(c.name, i) for c in BUNDLED.values() for i in c.interactions]


@pytest.mark.parametrize(("name", "interaction"), ALL_INTERACTIONS, ids=[n for n, _ in ALL_INTERACTIONS])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_text_ids_and_timing_are_never_drift(name: str, interaction: Interaction, seed: int) -> None:
    live = varied(interaction, random.Random(seed))  # one seed: a whole stream varied, little entropy
    assert compare_shape(interaction, live) == [], name
