"""A non-streamed chat-completion body to a ``ChatResult``: every choice, usage, logprobs.

``invoke`` does not go through the stream: one JSON answer is cheaper to parse than hundreds
of events, and only the non-streamed form carries ``n > 1`` choices side by side.

Usage is on each message's ``usage_metadata`` (LangChain's standard place), and also, as the
server reported it, under ``token_usage`` in ``response_metadata`` and in ``llm_output``: that is
where ChatOpenAI and the published ChatNVIDIA put it, and where usage callbacks read it
(``on_llm_end`` gets ``llm_output``). ``response_metadata["role"]`` is the answer's role, as the
published client reports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from ._convert import from_wire
from ._usage import counts_of, to_metadata


def parse_response(body: Mapping[str, Any]) -> ChatResult:
    """Raises ``ValueError`` (the transport turns it into a ``ResponseFormatError``) for a body
    that is not a chat completion."""
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ValueError(f"the chat completion has no choices (keys: {sorted(body)})")
    usage = body.get("usage")
    usage_metadata = to_metadata(counts_of(usage)) if isinstance(usage, Mapping) else None
    header: dict[str, Any] = {"model_name": body.get("model"), "id": body.get("id")}
    if body.get("system_fingerprint") is not None:
        header["system_fingerprint"] = body["system_fingerprint"]
    if isinstance(usage, Mapping):
        header["token_usage"] = dict(usage)
    generations = [_generation(choice, header, usage_metadata) for choice in choices]
    return ChatResult(generations=generations, llm_output=dict(header))


def _generation(choice: Mapping[str, Any], header: dict[str, Any], usage_metadata: Any) -> ChatGeneration:
    raw = choice.get("message")
    if not isinstance(raw, Mapping):
        text = choice.get("text")  # a completions-style choice from an older server
        if not isinstance(text, str):
            raise ValueError(f"choice {choice.get('index', 0)} has neither 'message' nor 'text'")
        raw = {"role": "assistant", "content": text}
    message = from_wire({**raw, "role": "assistant"})
    assert isinstance(message, AIMessage)
    metadata = {**header, "role": "assistant", "finish_reason": choice.get("finish_reason")}
    info: dict[str, Any] = {"finish_reason": choice.get("finish_reason")}
    if choice.get("logprobs"):
        metadata["logprobs"] = info["logprobs"] = choice["logprobs"]
    if "system_fingerprint" in header:
        info["system_fingerprint"] = header["system_fingerprint"]
    message.response_metadata = metadata
    message.usage_metadata = usage_metadata
    if header.get("id"):
        message.id = header["id"]
    return ChatGeneration(message=message, generation_info=info)


def combine_llm_outputs(outputs: list[dict[str, Any] | None]) -> dict[str, Any]:
    """``generate()``'s ``llm_output`` for several prompts: token usage summed, as ChatOpenAI does,
    and the first model name and fingerprint."""
    combined: dict[str, Any] = {}
    usage: dict[str, int] = {}
    for output in outputs:
        if not output:
            continue
        for key, value in (output.get("token_usage") or {}).items():
            if isinstance(value, int) and not isinstance(value, bool):
                usage[key] = usage.get(key, 0) + value
        for key in ("model_name", "system_fingerprint"):
            if output.get(key) is not None:
                combined.setdefault(key, output[key])
    if usage:
        combined["token_usage"] = usage
    return combined
