"""A synthesized answer in NIM 1.x / vLLM 0.9.2 bytes: one JSON body, or token-sized SSE events.

Layouts follow nim-wire-facts.md §3 and the bundled recordings: non-streamed bodies carry every
field with its nulls in pydantic order (``reasoning_content`` before ``content``, ``stop_reason``
after ``finish_reason``, usage ``prompt,total,completion``, then ``prompt_logprobs`` and
``kv_transfer_params``); stream chunks carry only the fields vLLM sets. A chat stream per choice:
``{"role":"assistant","content":""}``, the reasoning (if any) one ``reasoning_content`` token per
event as vLLM's reasoning parser sends it, then one event per content token, a final chunk with
``finish_reason`` and ``stop_reason``; then the usage chunk (``choices: []``) when
``stream_options.include_usage``, then ``data: [DONE]``. Tool calls stream as vLLM does: ``auto``
sends the name chunk (``id,type,index,function.name``) then argument fragments; a forced call
sends name and first fragment together. Choices of ``n > 1`` interleave token by token.

Timing is data: event offsets from ``ttft_ms`` and ``tokens_per_s``, which ``ReplayResponse`` then
scales by the server's speed (0 = no sleeping), exactly as it paces a recording.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nim_mock.cassette import Event, RecordedResponse, compact_json
from nim_mock.synth.answer import Answer, Choice
from nim_mock.synth.tokens import tokens

__all__ = ["SYNTH_HEADER", "Frame", "render"]

SYNTH_HEADER = "x-nim-mock-synthesized"
_STREAM_TYPE = "text/event-stream; charset=utf-8"
_DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class Frame:
    """What every chunk and body repeats, plus the pace of the stream."""

    chat: bool
    id: str
    created: int
    model: str
    prompt_tokens: int
    include_usage: bool
    ttft_ms: float
    tokens_per_s: float


def render(answer: Answer, frame: Frame, *, stream: bool) -> RecordedResponse:
    if stream:
        return RecordedResponse(
            200, ((SYNTH_HEADER, "1"), ("content-type", _STREAM_TYPE)), events=tuple(_events(answer, frame))
        )
    longest = max(c.completion_tokens for c in answer.choices)
    body = _chat_body(answer, frame) if frame.chat else _completion_body(answer, frame)
    return RecordedResponse(
        200,
        ((SYNTH_HEADER, "1"), ("content-type", "application/json")),
        body=compact_json(body),
        t_headers_ms=frame.ttft_ms + _gap_ms(frame) * longest,
    )


def _gap_ms(frame: Frame) -> float:
    return 1000.0 / frame.tokens_per_s if frame.tokens_per_s > 0 else 0.0


def _usage(answer: Answer, frame: Frame, *, details: bool) -> dict[str, Any]:
    completion = sum(choice.completion_tokens for choice in answer.choices)
    usage: dict[str, Any] = {
        "prompt_tokens": frame.prompt_tokens,
        "total_tokens": frame.prompt_tokens + completion,
        "completion_tokens": completion,
    }
    if details:
        usage["prompt_tokens_details"] = None
    return usage


def _chat_body(answer: Answer, frame: Frame) -> dict[str, Any]:
    return {
        "id": frame.id,
        "object": "chat.completion",
        "created": frame.created,
        "model": frame.model,
        "choices": [
            {
                "index": index,
                "message": {
                    "role": "assistant",
                    "reasoning_content": choice.reasoning,
                    "content": choice.content,
                    "tool_calls": [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        }
                        for c in choice.tool_calls
                    ],
                },
                "logprobs": None,
                "finish_reason": choice.finish_reason,
                "stop_reason": choice.stop_reason,
            }
            for index, choice in enumerate(answer.choices)
        ],
        "usage": _usage(answer, frame, details=True),
        "prompt_logprobs": None,
        "kv_transfer_params": None,
    }


def _completion_body(answer: Answer, frame: Frame) -> dict[str, Any]:
    return {
        "id": frame.id,
        "object": "text_completion",
        "created": frame.created,
        "model": frame.model,
        "choices": [
            {
                "index": index,
                "text": choice.content or "",
                "logprobs": None,
                "finish_reason": choice.finish_reason,
                "stop_reason": choice.stop_reason,
                "prompt_logprobs": None,
            }
            for index, choice in enumerate(answer.choices)
        ],
        "usage": _usage(answer, frame, details=True),
        "kv_transfer_params": None,
    }


# -- streams ------------------------------------------------------------------------------------


def _events(answer: Answer, frame: Frame) -> Iterator[Event]:
    """Every event with its offset: step 0 at the first token's time, one step per token after."""
    per_choice = [
        list(_chat_deltas(c, i) if frame.chat else _text_deltas(c, i)) for i, c in enumerate(answer.choices)
    ]
    gap = _gap_ms(frame)
    steps = max(len(deltas) for deltas in per_choice)
    last_t = frame.ttft_ms
    for step in range(steps):
        t = frame.ttft_ms + gap * max(step - (1 if frame.chat else 0), 0)
        for index, deltas in enumerate(per_choice):
            if step < len(deltas):
                last_t = t
                yield Event(t, _data(_chunk(frame, index, *deltas[step])))
    if frame.include_usage:
        yield Event(last_t, _data(_head(frame, [], usage=_usage(answer, frame, details=False))))
    yield Event(last_t, _DONE)


_Delta = tuple[dict[str, Any], str | None, str | None, bool]
"""(delta or text payload, finish_reason, stop_reason, is the final chunk)."""


def _chat_deltas(choice: Choice, index: int) -> Iterator[_Delta]:
    yield {"role": "assistant", "content": ""}, None, None, False
    for part in tokens(choice.reasoning or ""):
        yield {"reasoning_content": part}, None, None, False
    if choice.tool_calls:
        yield from _tool_deltas(choice, index)
        return
    parts = tokens(choice.content or "")
    cut = choice.finish_reason == "length" and parts
    for part in parts[:-1] if cut else parts:
        yield {"content": part}, None, None, False
    yield {"content": parts[-1] if cut else ""}, choice.finish_reason, choice.stop_reason, True


def _tool_deltas(choice: Choice, index: int) -> Iterator[_Delta]:
    # one forced call streams under the choice's index, as vLLM's guided decoding does; several
    # (``required`` with parallel calls) and chosen calls under their own
    by_number = choice.auto_tool or len(choice.tool_calls) > 1
    for number, call in enumerate(choice.tool_calls):
        fragments = tokens(call.arguments)
        position = number if by_number else index
        head = {"id": call.id, "type": "function", "index": position}
        if choice.auto_tool:
            yield {"tool_calls": [{**head, "function": {"name": call.name}}]}, None, None, False
        else:
            first = fragments.pop(0) if fragments else ""
            yield (
                {"tool_calls": [{**head, "function": {"name": call.name, "arguments": first}}]},
                None,
                None,
                False,
            )
        for fragment in fragments:
            yield _arguments(position, fragment), None, None, False
    last = len(choice.tool_calls) - 1 if by_number else index
    yield _arguments(last, ""), choice.finish_reason, choice.stop_reason, True


def _arguments(position: int, fragment: str) -> dict[str, Any]:
    return {"tool_calls": [{"index": position, "function": {"arguments": fragment}}]}


def _text_deltas(choice: Choice, index: int) -> Iterator[_Delta]:
    parts = tokens(choice.content or "")
    cut = choice.finish_reason == "length" and parts
    for part in parts[:-1] if cut else parts:
        yield {"text": part}, None, None, False
    yield {"text": parts[-1] if cut else ""}, choice.finish_reason, choice.stop_reason, True


def _head(frame: Frame, choices: list[Any], **rest: Any) -> dict[str, Any]:
    obj = "chat.completion.chunk" if frame.chat else "text_completion"
    return {
        "id": frame.id,
        "object": obj,
        "created": frame.created,
        "model": frame.model,
        "choices": choices,
        **rest,
    }


def _chunk(
    frame: Frame, index: int, payload: dict[str, Any], finish: str | None, stop: str | None, final: bool
) -> dict[str, Any]:
    if frame.chat:
        choice: dict[str, Any] = {"index": index, "delta": payload, "logprobs": None, "finish_reason": finish}
        if final:
            choice["stop_reason"] = stop
        return _head(frame, [choice])
    text_choice = {
        "index": index,
        "text": payload["text"],
        "logprobs": None,
        "finish_reason": finish,
        "stop_reason": stop,
    }
    return _head(frame, [text_choice], usage=None)


def _data(chunk: dict[str, Any]) -> bytes:
    return b"data: " + compact_json(chunk) + b"\n\n"
