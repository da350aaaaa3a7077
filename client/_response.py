"""A non-streamed chat-completion body to a ``ChatResult``: every choice, usage, logprobs.

``invoke`` does not go through the stream: one JSON answer is cheaper to parse than hundreds
of events, and only the non-streamed form carries ``n > 1`` choices side by side.
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
    header = {"model_name": body.get("model"), "id": body.get("id")}
    if body.get("system_fingerprint") is not None:
        header["system_fingerprint"] = body["system_fingerprint"]
    generations = [_generation(choice, header, usage_metadata) for choice in choices]
    # Usage lives on each message's ``usage_metadata``; repeating it here would put a
    # ``token_usage`` into response_metadata that a streamed answer never has.
    llm_output = dict(header)
    return ChatResult(generations=generations, llm_output=llm_output)


def _generation(choice: Mapping[str, Any], header: dict[str, Any], usage_metadata: Any) -> ChatGeneration:
    raw = choice.get("message")
    if not isinstance(raw, Mapping):
        text = choice.get("text")  # a completions-style choice from an older server
        if not isinstance(text, str):
            raise ValueError(f"choice {choice.get('index', 0)} has neither 'message' nor 'text'")
        raw = {"role": "assistant", "content": text}
    message = from_wire({**raw, "role": "assistant"})
    assert isinstance(message, AIMessage)
    metadata = {**header, "finish_reason": choice.get("finish_reason")}
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
