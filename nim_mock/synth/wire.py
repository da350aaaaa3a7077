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

A ``nim2`` frame (``Frame.vllm_032``) renders vLLM 0.32's bytes instead, as the live target sends
them: the message's ``refusal``/``annotations``/``audio``/``function_call`` nulls, ``reasoning`` (vLLM
0.32's name for ``reasoning_content``, in stream deltas too) and
``tool_calls`` only when there are calls, ``token_ids``/``routed_experts`` on choices,
``service_tier`` and ``system_fingerprint`` before ``usage`` (whose details are
``prompt_tokens_details`` and ``completion_tokens_details``), and in a stream the fingerprint on the
last chunk before ``[DONE]``; a stream's end is a chunk with an empty delta (``stop``) or the last
token's chunk (``length``).

Logprobs are rendered when asked for (``Frame.logprobs``, the number of alternatives per token):
chat ``{"content": [{"token", "logprob", "bytes", "top_logprobs"}]}``, completions
``{"text_offset", "token_logprobs", "tokens", "top_logprobs"}``, per event in a stream. The numbers
are made up but fixed: the chosen token is the likeliest, each alternative less likely than the last.

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
from nim_mock.wire.identity import SYSTEM_FINGERPRINT

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
    vllm_032: bool = False
    """Render vLLM 0.32's bytes (the ``nim2`` identity) rather than vLLM 0.9.2's."""
    logprobs: int | None = None
    """Alternatives per token when logprobs were asked for (0: the chosen token only); ``None``: off."""
    headers: tuple[tuple[str, str], ...] = ()
    """The identity's headers, sent before ``content-type``."""
    continuous_usage: bool = False
    """Every chunk carries the usage so far (``stream_options.continuous_usage_stats``)."""


def render(answer: Answer, frame: Frame, *, stream: bool) -> RecordedResponse:
    if stream:
        return RecordedResponse(
            200,
            (*frame.headers, (SYNTH_HEADER, "1"), ("content-type", _STREAM_TYPE)),
            events=tuple(_events(answer, frame)),
        )
    longest = max(c.completion_tokens for c in answer.choices)
    body = _chat_body(answer, frame) if frame.chat else _completion_body(answer, frame)
    return RecordedResponse(
        200,
        (*frame.headers, (SYNTH_HEADER, "1"), ("content-type", "application/json")),
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
        if frame.vllm_032:
            usage["completion_tokens_details"] = None
    return usage


def _chat_logprobs(text: str, top: int) -> dict[str, Any]:
    return {"content": [_token_logprob(part, index, top) for index, part in enumerate(tokens(text))]}


def _token_logprob(token: str, index: int, top: int) -> dict[str, Any]:
    chosen = _logprob(index, 0)
    alternatives = [_entry(token, chosen)]
    alternatives += [_entry(f"<alt{rank}>", _logprob(index, rank)) for rank in range(1, top)]
    return {**_entry(token, chosen), "top_logprobs": alternatives[:top]}


def _entry(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}


def _logprob(index: int, rank: int) -> float:
    """A fixed, plausible log-probability: the chosen token (rank 0) near 0, alternatives far below."""
    return -(0.01 + 0.001 * (index % 7)) if rank == 0 else -(4.0 + rank + 0.1 * (index % 5))


def _completion_logprobs(text: str, top: int, offset: int = 0) -> dict[str, Any]:
    parts = tokens(text)
    offsets, position = [], offset
    for part in parts:
        offsets.append(position)
        position += len(part)
    tops = []
    for index, part in enumerate(parts):
        ranked = {part: _logprob(index, 0)}
        ranked.update({f"<alt{rank}>": _logprob(index, rank) for rank in range(1, max(top, 1))})
        tops.append(ranked)
    return {
        "text_offset": offsets,
        "token_logprobs": [_logprob(index, 0) for index in range(len(parts))],
        "tokens": parts,
        "top_logprobs": tops,
    }


def _chat_body(answer: Answer, frame: Frame) -> dict[str, Any]:
    if frame.vllm_032:
        return _chat_body_032(answer, frame)
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
                "logprobs": (
                    _chat_logprobs(choice.content or "", frame.logprobs)
                    if frame.logprobs is not None
                    else None
                ),
                "finish_reason": choice.finish_reason,
                "stop_reason": choice.stop_reason,
            }
            for index, choice in enumerate(answer.choices)
        ],
        "usage": _usage(answer, frame, details=True),
        "prompt_logprobs": None,
        "kv_transfer_params": None,
    }


def _calls(choice: Choice) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in choice.tool_calls
    ]


def _chat_body_032(answer: Answer, frame: Frame) -> dict[str, Any]:
    choices = []
    for index, choice in enumerate(answer.choices):
        message: dict[str, Any] = {
            "role": "assistant",
            "content": choice.content,
            "refusal": None,
            "annotations": None,
            "audio": None,
            "function_call": None,
        }
        if choice.tool_calls:
            message["tool_calls"] = _calls(choice)
        message["reasoning"] = choice.reasoning
        logprobs = (
            _chat_logprobs(choice.content or "", frame.logprobs) if frame.logprobs is not None else None
        )
        choices.append(
            {
                "index": index,
                "message": message,
                "logprobs": logprobs,
                "finish_reason": choice.finish_reason,
                "stop_reason": choice.stop_reason,
                "token_ids": None,
                "routed_experts": None,
            }
        )
    prompt = {"prompt_logprobs": None, "prompt_token_ids": None, "prompt_text": None}
    return _body_032(answer, frame, "chat.completion", choices, prompt)


def _completion_body(answer: Answer, frame: Frame) -> dict[str, Any]:
    if frame.vllm_032:
        return _completion_body_032(answer, frame)
    return {
        "id": frame.id,
        "object": "text_completion",
        "created": frame.created,
        "model": frame.model,
        "choices": [_completion_choice(index, choice, frame) for index, choice in enumerate(answer.choices)],
        "usage": _usage(answer, frame, details=True),
        "kv_transfer_params": None,
    }


def _completion_choice(index: int, choice: Choice, frame: Frame) -> dict[str, Any]:
    text = choice.content or ""
    entry: dict[str, Any] = {
        "index": index,
        "text": text,
        "logprobs": _completion_logprobs(text, frame.logprobs) if frame.logprobs is not None else None,
        "finish_reason": choice.finish_reason,
        "stop_reason": choice.stop_reason,
    }
    if frame.vllm_032:
        entry["token_ids"] = None
    entry["prompt_logprobs"] = None
    if frame.vllm_032:
        entry.update(prompt_token_ids=None, routed_experts=None)
    return entry


def _completion_body_032(answer: Answer, frame: Frame) -> dict[str, Any]:
    choices = [_completion_choice(index, choice, frame) for index, choice in enumerate(answer.choices)]
    return _body_032(answer, frame, "text_completion", choices, {})


def _body_032(
    answer: Answer, frame: Frame, kind: str, choices: list[dict[str, Any]], prompt: dict[str, Any]
) -> dict[str, Any]:
    """vLLM 0.32's top level: the fingerprint before usage, then the prompt fields (chat) and nulls."""
    return {
        "id": frame.id,
        "object": kind,
        "created": frame.created,
        "model": frame.model,
        "choices": choices,
        "service_tier": None,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "usage": _usage(answer, frame, details=True),
        **prompt,
        "kv_transfer_params": None,
        "ec_transfer_params": None,
        "metrics": None,
    }


# -- streams ------------------------------------------------------------------------------------


def _events(answer: Answer, frame: Frame) -> Iterator[Event]:
    """Every event with its offset: step 0 at the first token's time, one step per token after."""
    per_choice = [
        list(_chat_deltas(c, i, frame) if frame.chat else _text_deltas(c, frame))
        for i, c in enumerate(answer.choices)
    ]
    gap = _gap_ms(frame)
    steps = max(len(deltas) for deltas in per_choice)
    last_t = frame.ttft_ms
    chunks: list[tuple[float, dict[str, Any]]] = []
    generated = 0
    for step in range(steps):
        t = frame.ttft_ms + gap * max(step - (1 if frame.chat else 0), 0)
        for index, deltas in enumerate(per_choice):
            if step < len(deltas):
                last_t = t
                chunk = _chunk(frame, index, deltas[step], first=step == 0)
                if frame.continuous_usage:
                    generated += 0 if frame.chat and step == 0 else 1
                    chunk["usage"] = {
                        "prompt_tokens": frame.prompt_tokens,
                        "total_tokens": frame.prompt_tokens + generated,
                        "completion_tokens": generated,
                        "completion_tokens_details": None,
                    }
                chunks.append((t, chunk))
    if frame.include_usage:
        chunks.append((last_t, _head(frame, [], usage=_usage(answer, frame, details=False))))
    if frame.vllm_032 and chunks:  # vLLM 0.32 puts its fingerprint on the stream's last chunk
        chunks[-1][1]["system_fingerprint"] = SYSTEM_FINGERPRINT
    for t, chunk in chunks:
        yield Event(t, _data(chunk))
    yield Event(last_t, _DONE)


@dataclass(frozen=True, slots=True)
class _Delta:
    payload: dict[str, Any]
    """The chat delta, or ``{"text": ...}`` for completions."""
    finish: str | None = None
    stop: str | None = None
    final: bool = False
    logprobs: dict[str, Any] | None = None


def _chat_deltas(choice: Choice, index: int, frame: Frame) -> Iterator[_Delta]:
    yield _Delta({"role": "assistant", "content": ""})
    reasoning_key = "reasoning" if frame.vllm_032 else "reasoning_content"
    for part in tokens(choice.reasoning or ""):
        yield _Delta({reasoning_key: part})
    if choice.tool_calls:
        yield from _tool_deltas(choice, index, frame)
        return
    parts = tokens(choice.content or "")
    cut = choice.finish_reason == "length" and parts
    top = frame.logprobs
    for position, part in enumerate(parts[:-1] if cut else parts):
        yield _Delta({"content": part}, logprobs=_stream_logprob(part, position, top))
    if cut:
        last = parts[-1]
        yield _Delta(
            {"content": last},
            choice.finish_reason,
            choice.stop_reason,
            True,
            _stream_logprob(last, len(parts) - 1, top),
        )
    else:
        yield _Delta(
            {} if frame.vllm_032 else {"content": ""}, choice.finish_reason, choice.stop_reason, True
        )


def _stream_logprob(token: str, index: int, top: int | None) -> dict[str, Any] | None:
    return None if top is None else {"content": [_token_logprob(token, index, top)]}


def _tool_deltas(choice: Choice, index: int, frame: Frame) -> Iterator[_Delta]:
    # one forced call streams under the choice's index, as vLLM's guided decoding does; several
    # (``required`` with parallel calls) and chosen calls under their own
    by_number = choice.auto_tool or len(choice.tool_calls) > 1
    for number, call in enumerate(choice.tool_calls):
        fragments = tokens(call.arguments)
        position = number if by_number else index
        head = {"id": call.id, "type": "function", "index": position}
        if choice.auto_tool or frame.vllm_032:
            yield _Delta({"tool_calls": [{**head, "function": {"name": call.name}}]})
        else:
            first = fragments.pop(0) if fragments else ""
            yield _Delta({"tool_calls": [{**head, "function": {"name": call.name, "arguments": first}}]})
        for fragment in fragments:
            yield _Delta(_arguments(position, fragment))
    last = len(choice.tool_calls) - 1 if by_number else index
    yield _Delta(_arguments(last, ""), choice.finish_reason, choice.stop_reason, True)


def _arguments(position: int, fragment: str) -> dict[str, Any]:
    return {"tool_calls": [{"index": position, "function": {"arguments": fragment}}]}


def _text_deltas(choice: Choice, frame: Frame) -> Iterator[_Delta]:
    parts = tokens(choice.content or "")
    cut = choice.finish_reason == "length" and parts
    top = frame.logprobs
    offset = 0
    for part in parts[:-1] if cut else parts:
        logprobs = None if top is None else _completion_logprobs(part, top, offset)
        offset += len(part)
        yield _Delta({"text": part}, logprobs=logprobs)
    last = parts[-1] if cut else ""
    logprobs = None if top is None or not cut else _completion_logprobs(last, top, offset)
    yield _Delta({"text": last}, choice.finish_reason, choice.stop_reason, True, logprobs)


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


def _chunk(frame: Frame, index: int, delta: _Delta, *, first: bool) -> dict[str, Any]:
    if frame.chat:
        choice: dict[str, Any] = {
            "index": index,
            "delta": delta.payload,
            "logprobs": delta.logprobs,
            "finish_reason": delta.finish,
        }
        if delta.final:
            choice["stop_reason"] = delta.stop
        if frame.vllm_032:
            if first:
                return _head(frame, [choice], prompt_token_ids=None, prompt_text=None)
            choice["token_ids"] = None
        return _head(frame, [choice])
    text_choice: dict[str, Any] = {
        "index": index,
        "text": delta.payload["text"],
        "logprobs": delta.logprobs,
        "finish_reason": delta.finish,
        "stop_reason": delta.stop,
    }
    if frame.vllm_032:
        text_choice.update(prompt_token_ids=None, token_ids=None)
        return _head(frame, [text_choice])
    return _head(frame, [text_choice], usage=None)


def _data(chunk: dict[str, Any]) -> bytes:
    return b"data: " + compact_json(chunk) + b"\n\n"
