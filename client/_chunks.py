"""One streamed chat-completion event (parsed SSE JSON) to one ``ChatGenerationChunk``.

``StreamState`` holds what must survive between events of one stream: the running usage
total (see ``_usage``), the ``<think>`` splitter, and whether the response id and model name
were already reported. Per-stream, never shared, so concurrent streams cannot mix.

Chunks are built so that adding them up with ``+`` gives the same message a non-streamed
request returns: ``id``/``model_name`` appear once (LangChain concatenates repeated strings),
``finish_reason`` and ``system_fingerprint`` ride on the finish chunk, tool calls travel as
``tool_call_chunks`` keyed by ``index``, and usage grows but is never counted twice.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterable, Generator, Iterable, Mapping
from typing import Any

from langchain_core.messages import AIMessageChunk, ToolCallChunk
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk

from ._plain_chunk import plain_chunk
from ._thinking import ThinkSplitter
from ._usage import Counts, counts_of, growth, to_metadata


class StreamState:
    """What one stream remembers between events."""

    __slots__ = ("include_usage", "last_id", "plain", "reported_header", "splitter", "usage")

    def __init__(self, *, include_usage: bool = True) -> None:
        self.include_usage = include_usage
        self.usage: Counts = {}
        self.splitter = ThinkSplitter()
        self.reported_header = False
        # True when the next plain-text event may skip the general path (see to_generation_chunk).
        self.plain = False
        self.last_id: str | None = None

    def same_id(self, event: Mapping[str, Any]) -> str | None:
        """The event's response id, as the string object the previous chunk already holds.

        Every event repeats the id; LangChain keeps every chunk of a stream until it ends, so
        sharing one string saves its size per chunk (~60 bytes of a ~1.8 kB chunk).
        """
        ident = event.get("id") or None
        if ident != self.last_id:
            self.last_id = ident
        return self.last_id

    def close(self) -> tuple[ChatGenerationChunk, ...]:
        """The chunk (if any) for text the ``<think>`` splitter still holds when a stream ends
        without a finish: a tuple, so both drivers simply yield whatever it holds."""
        reasoning, content = self.splitter.flush()
        if not reasoning and not content:
            return ()
        return (ChatGenerationChunk(message=_message(content, reasoning)),)


def _message(content: str, reasoning: str, **fields: Any) -> AIMessageChunk:
    if reasoning:
        fields["additional_kwargs"] = {"reasoning_content": reasoning}
    return AIMessageChunk(content=content, **fields)


# Delta keys of an ordinary token event; anything else takes the general path.
_PLAIN_DELTA = frozenset({"content", "role"})


def to_generation_chunk(event: Mapping[str, Any], state: StreamState) -> ChatGenerationChunk | None:
    """The chunk for ``event``, or ``None`` when it carries nothing a caller could see.

    Nearly every event of a long stream is one token of text; once the header is reported and
    the ``<think>`` splitter passes text through, those take a short path that builds the same
    chunk with a handful of look-ups. Anything unusual (a finish, usage, tool calls, logprobs,
    reasoning, several choices) takes the general path.
    """
    if state.plain:
        choices = event.get("choices")
        if choices and len(choices) == 1:
            choice = choices[0]
            delta = choice.get("delta")
            content = delta.get("content") if delta else None
            if (
                content
                and (len(delta) == 1 or delta.keys() <= _PLAIN_DELTA)
                and choice.get("finish_reason") is None
                and not choice.get("logprobs")
                and choice.get("index", 0) == 0
                and event.get("usage") is None
            ):
                ident = event.get("id") or None  # state.same_id(event), inlined: runs once per token
                if ident != state.last_id:
                    state.last_id = ident
                return plain_chunk(content, state.last_id)
    chunk = _general_chunk(event, state)
    state.plain = state.reported_header and state.splitter.passing
    return chunk


def _general_chunk(event: Mapping[str, Any], state: StreamState) -> ChatGenerationChunk | None:
    choices = event.get("choices") or []
    choice: Mapping[str, Any] = next((c for c in choices if c.get("index", 0) == 0), {})
    # A hosted 202 polled to completion answers a stream with one whole chat.completion: its
    # choice holds ``message`` where a chunk holds ``delta``, and the two read the same way.
    delta: Mapping[str, Any] = choice.get("delta") or choice.get("message") or {}
    finish = choice.get("finish_reason")

    reasoning = delta.get("reasoning_content") or delta.get("reasoning") or ""
    raw_content = delta.get("content")
    thought, content = state.splitter.feed(raw_content) if raw_content else ("", "")
    if finish is not None:
        tail_thought, tail_content = state.splitter.flush()
        thought, content = thought + tail_thought, content + tail_content
    reasoning += thought

    fields: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    if not state.reported_header and (event.get("id") or event.get("model")):
        state.reported_header = True
        metadata.update({"model_name": event.get("model"), "id": event.get("id")})
    if event.get("id"):
        fields["id"] = state.same_id(event)
    if delta.get("tool_calls"):
        fields["tool_call_chunks"] = [
            _tool_call_chunk(raw, position) for position, raw in enumerate(delta["tool_calls"])
        ]
    usage = event.get("usage")
    if state.include_usage and isinstance(usage, Mapping):
        current = counts_of(usage)
        step = growth(current, state.usage)
        first_report, state.usage = not state.usage, current
        if first_report or any(step.values()):
            fields["usage_metadata"] = to_metadata(step)
    logprobs = choice.get("logprobs")
    if logprobs:
        metadata["logprobs"] = logprobs

    info: dict[str, Any] | None = None
    if finish is not None:
        info = {"finish_reason": finish}
        metadata["finish_reason"] = finish
        if event.get("system_fingerprint") is not None:
            metadata["system_fingerprint"] = event["system_fingerprint"]
            info["system_fingerprint"] = event["system_fingerprint"]

    if not (content or reasoning or metadata or "tool_call_chunks" in fields or "usage_metadata" in fields):
        return None
    if metadata:
        fields["response_metadata"] = metadata
    return ChatGenerationChunk(message=_message(content, reasoning, **fields), generation_info=info)


def _tool_call_chunk(raw: Mapping[str, Any], position: int) -> ToolCallChunk:
    function = raw.get("function") or {}
    arguments = function.get("arguments")
    return tool_call_chunk(
        name=function.get("name"),
        args=arguments if isinstance(arguments, str) or arguments is None else json.dumps(arguments),
        id=raw.get("id"),
        index=raw.get("index", position),
    )


def iter_chunks(
    events: Iterable[Mapping[str, Any]], include_usage: bool = True
) -> Generator[ChatGenerationChunk, None, None]:
    """Every visible chunk of one stream, with held-back ``<think>`` text released at the end."""
    state = StreamState(include_usage=include_usage)
    for event in events:
        if (chunk := to_generation_chunk(event, state)) is not None:
            yield chunk
    yield from state.close()


async def aiter_chunks(
    events: AsyncIterable[Mapping[str, Any]], include_usage: bool = True
) -> AsyncGenerator[ChatGenerationChunk, None]:
    """The async twin of ``iter_chunks``; the conversion itself is the same pure function."""
    state = StreamState(include_usage=include_usage)
    async for event in events:
        if (chunk := to_generation_chunk(event, state)) is not None:
            yield chunk
    for tail in state.close():
        yield tail
