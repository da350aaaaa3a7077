"""The chunk of one ordinary streamed token, built without pydantic's validation pass.

A long stream is almost all ordinary tokens, and validating the two pydantic models of each one
(``AIMessageChunk`` inside ``ChatGenerationChunk``) was about a quarter of the client's cost per
chunk. Their fields for plain text are known in advance, so ``plain_chunk`` fills the instances
the way ``BaseModel.model_construct`` does (which itself is no faster: it inspects every default
factory's signature on each call), from a layout read off validated prototypes when this module
loads. If that layout is not the one this module knows (a langchain-core or pydantic release
that adds a field or a validator side effect), ``plain_chunk`` validates as usual instead, so an
upgrade costs speed, never correctness. ``tests/client/test_plain_chunk.py`` pins the two paths equal.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

__all__ = ["plain_chunk", "validated_plain_chunk"]

_PYDANTIC_SLOTS = ("__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")

_new = object.__new__
_set = object.__setattr__


def validated_plain_chunk(content: str, ident: str | None) -> ChatGenerationChunk:
    """The same chunk built the ordinary way: the reference ``plain_chunk`` must equal."""
    return ChatGenerationChunk(message=AIMessageChunk(content=content, id=ident))


def _fast(content: str, ident: str | None) -> ChatGenerationChunk:
    message = _new(AIMessageChunk)
    _set(
        message,
        "__dict__",
        {
            "content": content,
            "additional_kwargs": {},
            "response_metadata": {},
            "type": "AIMessageChunk",
            "name": None,
            "id": ident,
            "tool_calls": [],
            "invalid_tool_calls": [],
            "usage_metadata": None,
            "tool_call_chunks": [],
            "chunk_position": None,
        },
    )
    _set(message, "__pydantic_fields_set__", {"content", "id"})
    _set(message, "__pydantic_extra__", {})
    _set(message, "__pydantic_private__", None)
    chunk = _new(ChatGenerationChunk)
    _set(
        chunk,
        "__dict__",
        {"text": content, "generation_info": None, "type": "ChatGenerationChunk", "message": message},
    )
    _set(chunk, "__pydantic_fields_set__", {"text", "message"})
    _set(chunk, "__pydantic_extra__", None)
    _set(chunk, "__pydantic_private__", None)
    return chunk


def _state(instance: Any) -> tuple[Any, ...]:
    """Everything an instance holds, field order included (it shows in ``repr``)."""
    fields = instance.__dict__
    return (
        type(instance),
        list(fields),
        fields,
        *(getattr(instance, slot, "missing") for slot in _PYDANTIC_SLOTS),
    )


def _layout_is_known() -> bool:
    """Whether validated prototypes hold exactly what ``_fast`` writes (checked once, at import)."""
    try:
        reference, fast = validated_plain_chunk("x", "id-1"), _fast("x", "id-1")
        return _state(reference.message) == _state(fast.message) and _state(reference) == _state(fast)
    except Exception:  # any surprise in a future release means: take the validated path
        return False


FAST_PATH = _layout_is_known()
"""True when ``plain_chunk`` skips validation (the layout matched at import)."""

plain_chunk = _fast if FAST_PATH else validated_plain_chunk
"""``plain_chunk(content, ident)``: the ``ChatGenerationChunk`` of one ordinary text token."""
