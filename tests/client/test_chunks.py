"""Streamed chunks always add up to the message the same exchange gives when not streamed.

Hypothesis draws one exchange (content, reasoning in any of three spellings, tool calls, usage
reported in any of the three ways servers report it, logprobs), renders it both as a
chat.completion body and as a chunk stream cut at arbitrary points, and compares what
``_response`` and ``_chunks`` make of the two.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, AIMessageChunk
from nim_harness._chunks import StreamState, iter_chunks, to_generation_chunk
from nim_harness._response import parse_response

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
pieces = st.lists(text, max_size=5)


@dataclass
class Exchange:
    content: list[str]
    reasoning: list[str]
    reasoning_style: str  # none | reasoning_content | reasoning | think_tag
    cuts: list[int]
    calls: list[tuple[str, str, dict[str, Any]]]
    finish: str
    usage_style: str  # none | trailing | in_finish | cumulative
    prompt: int
    cached: int | None
    fingerprint: str | None
    logprobs: bool

    @property
    def text(self) -> str:
        return "".join(self.content)

    def whole_content(self) -> str:
        if self.reasoning_style == "think_tag":
            return f"<think>{''.join(self.reasoning)}</think>\n\n{self.text}"
        return self.text

    def usage(self, completed: int) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt,
            "completion_tokens": completed,
            "total_tokens": self.prompt + completed,
        }
        if self.cached is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached}
        return usage

    def logprob_entries(self) -> list[dict[str, Any]]:
        return [
            {"token": p, "logprob": -1.0, "bytes": list(p.encode()), "top_logprobs": []} for p in self.content
        ]


def _valid(exchange: Exchange) -> bool:
    if exchange.text.lstrip().startswith("<think>") and exchange.reasoning_style != "think_tag":
        return False
    return not any(
        "</think>" in r or "<think>" in r for r in exchange.reasoning
    ) and "</think>" not in "".join(exchange.reasoning)


exchanges = st.builds(
    Exchange,
    content=pieces,
    reasoning=pieces,
    reasoning_style=st.sampled_from(["none", "reasoning_content", "reasoning", "think_tag"]),
    cuts=st.lists(st.integers(0, 80), max_size=8),
    calls=st.lists(
        st.tuples(
            st.from_regex(r"call-[a-z0-9]{1,6}", fullmatch=True),
            st.from_regex(r"[a-z_]{1,10}", fullmatch=True),
            st.dictionaries(text, st.integers() | text | st.booleans(), max_size=3),
        ),
        max_size=2,
        unique_by=lambda c: c[0],
    ),
    finish=st.sampled_from(["stop", "length", "tool_calls"]),
    usage_style=st.sampled_from(["none", "trailing", "in_finish", "cumulative"]),
    prompt=st.integers(0, 5000),
    cached=st.none() | st.integers(0, 100),
    fingerprint=st.none() | st.sampled_from(["", "fp_1"]),
    logprobs=st.booleans(),
).filter(_valid)


def render_whole(ex: Exchange) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": ex.whole_content() or None}
    if ex.reasoning_style in ("reasoning_content", "reasoning"):
        message[ex.reasoning_style] = "".join(ex.reasoning) or None
    if ex.calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            for cid, name, args in ex.calls
        ]
    choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": ex.finish}
    if ex.logprobs and ex.content and ex.reasoning_style != "think_tag":
        choice["logprobs"] = {"content": ex.logprob_entries()}
    body: dict[str, Any] = {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "model": "m",
        "choices": [choice],
    }
    if ex.fingerprint is not None:
        body["system_fingerprint"] = ex.fingerprint
    if ex.usage_style != "none":
        body["usage"] = ex.usage(len(ex.content) + len(ex.calls))
    return body


def render_stream(ex: Exchange) -> list[dict[str, Any]]:
    deltas: list[dict[str, Any]] = [{"delta": {"role": "assistant", "content": ""}}]
    if ex.reasoning_style in ("reasoning_content", "reasoning"):
        deltas += [{"delta": {ex.reasoning_style: r}} for r in ex.reasoning]
    if ex.reasoning_style == "think_tag":
        whole = ex.whole_content()
        bounds = sorted({min(c, len(whole)) for c in ex.cuts} | {0, len(whole)})
        deltas += [{"delta": {"content": whole[a:b]}} for a, b in itertools.pairwise(bounds)]
    else:
        for piece, entry in zip(ex.content, ex.logprob_entries(), strict=True):
            delta: dict[str, Any] = {"delta": {"content": piece}}
            if ex.logprobs:  # (a stream cut differently from its tokens carries none: see render_whole)
                delta["logprobs"] = {"content": [entry]}
            deltas.append(delta)
    for index, (cid, name, args) in enumerate(ex.calls):
        arguments = json.dumps(args)
        half = len(arguments) // 2
        deltas.append(
            {
                "delta": {
                    "tool_calls": [
                        {"id": cid, "type": "function", "index": index, "function": {"name": name}}
                    ]
                }
            }
        )
        for fragment in (arguments[:half], arguments[half:]):
            deltas.append({"delta": {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}})
    deltas.append({"delta": {}, "finish_reason": ex.finish})

    events = []
    for step, delta in enumerate(deltas):
        event: dict[str, Any] = {
            "id": "chatcmpl-x",
            "object": "chat.completion.chunk",
            "model": "m",
            "choices": [{"index": 0, "finish_reason": None, **delta}],
        }
        if ex.fingerprint is not None:
            event["system_fingerprint"] = ex.fingerprint
        if ex.usage_style == "cumulative":
            event["usage"] = ex.usage(min(step, len(ex.content) + len(ex.calls)))
        events.append(event)
    total = ex.usage(len(ex.content) + len(ex.calls))
    if ex.usage_style == "in_finish" or ex.usage_style == "cumulative":
        events[-1]["usage"] = total
    elif ex.usage_style == "trailing":
        events.append(
            {
                "id": "chatcmpl-x",
                "object": "chat.completion.chunk",
                "model": "m",
                "choices": [],
                "usage": total,
            }
        )
    return events


# What only a non-streamed answer carries, as in ChatOpenAI and the published ChatNVIDIA: the raw
# usage and role in response_metadata, the wire tool calls in additional_kwargs.
INVOKE_ONLY_METADATA = ("token_usage", "role")
INVOKE_ONLY_KWARGS = ("tool_calls",)


def _view(message: AIMessage) -> dict[str, Any]:
    return {
        "content": message.content,
        "additional_kwargs": _without(message.additional_kwargs, INVOKE_ONLY_KWARGS),
        "tool_calls": message.tool_calls,
        "invalid_tool_calls": message.invalid_tool_calls,
        "usage_metadata": message.usage_metadata,
        "response_metadata": _without(message.response_metadata, INVOKE_ONLY_METADATA),
        "id": message.id,
    }


def _without(mapping: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if key not in keys}


@settings(max_examples=150)
@given(exchanges)
def test_streamed_chunks_sum_to_the_whole_message(ex: Exchange) -> None:
    whole = parse_response(json.loads(json.dumps(render_whole(ex)))).generations[0].message
    assert isinstance(whole, AIMessage)
    chunks = [c.message for c in iter_chunks(json.loads(json.dumps(render_stream(ex))))]
    streamed = AIMessageChunk(content="")
    for piece in chunks:
        streamed = streamed + piece
    assert _view(streamed) == _view(whole)


def test_usage_only_chunk_becomes_an_empty_chunk_with_usage() -> None:
    state = StreamState()
    event = {
        "id": "x",
        "choices": [],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    chunk = to_generation_chunk(event, state)
    assert chunk is not None
    assert chunk.message.content == ""
    assert chunk.message.usage_metadata == {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}


def test_usage_ignored_when_not_asked_for() -> None:
    event = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
    assert to_generation_chunk(event, StreamState(include_usage=False)) is None


def test_empty_keepalive_delta_yields_nothing() -> None:
    state = StreamState()
    assert to_generation_chunk(
        {"id": "x", "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}, state
    )
    assert (
        to_generation_chunk({"id": "x", "choices": [{"index": 0, "delta": {"content": ""}}]}, state) is None
    )


def test_streamed_invalid_tool_call_json_is_invalid_tool_call() -> None:
    events = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "c", "function": {"name": "f", "arguments": "not json"}}
                        ]
                    },
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    total = AIMessageChunk(content="")
    for chunk in iter_chunks(events):
        total = total + chunk.message
    assert total.tool_calls == []
    assert [(c["name"], c["args"]) for c in total.invalid_tool_calls] == [("f", "not json")]


def test_two_parallel_tool_calls_merge_by_index() -> None:
    def call(index: int, **function: str) -> dict[str, Any]:
        return {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": index,
                                **({"id": f"c{index}"} if "name" in function else {}),
                                "function": function,
                            }
                        ]
                    },
                }
            ]
        }

    events = [
        call(0, name="a"),
        call(1, name="b"),
        call(0, arguments='{"x": '),
        call(1, arguments='{"y": 2}'),
        call(0, arguments="1}"),
    ]
    total = AIMessageChunk(content="")
    for chunk in iter_chunks(events):
        total = total + chunk.message
    assert [(c["name"], c["args"], c["id"]) for c in total.tool_calls] == [
        ("a", {"x": 1}, "c0"),
        ("b", {"y": 2}, "c1"),
    ]


def test_polled_whole_completion_inside_a_stream_reads_like_a_delta() -> None:
    event = {
        "id": "chatcmpl-p",
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "done"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    (chunk,) = list(iter_chunks([event]))
    assert chunk.message.content == "done"
    assert chunk.message.usage_metadata == {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
    assert chunk.generation_info == {"finish_reason": "stop"}


def test_other_choices_of_an_n_stream_are_not_mixed_in() -> None:
    events = [
        {"choices": [{"index": 0, "delta": {"content": "a"}}]},
        {"choices": [{"index": 1, "delta": {"content": "B"}}]},
        {"choices": [{"index": 0, "delta": {"content": "c"}}]},
    ]
    assert "".join(str(c.message.content) for c in iter_chunks(events)) == "ac"


_token_events = st.lists(
    st.fixed_dictionaries(
        {"content": st.one_of(st.none(), st.text(max_size=6))},
        optional={"role": st.just("assistant"), "tool_calls": st.just([])},
    ).map(
        lambda delta: {
            "id": "chatcmpl-p",
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}],
        }
    ),
    max_size=12,
)


@settings(max_examples=60)
@given(events=_token_events)
def test_the_token_short_path_builds_what_the_general_path_builds(events: list[dict[str, Any]]) -> None:
    header = {"id": "chatcmpl-p", "model": "m", "choices": [{"index": 0, "delta": {"content": "a"}}]}
    quick, slow = StreamState(), StreamState()
    assert to_generation_chunk(header, quick) == to_generation_chunk(header, slow)
    for event in events:
        slow.plain = False  # the seam: this state never takes the short path
        via_short, via_general = to_generation_chunk(event, quick), to_generation_chunk(event, slow)
        assert via_short == via_general
        if via_short is not None:
            assert via_short.message.id is quick.last_id  # one shared string per stream
    assert quick.plain
