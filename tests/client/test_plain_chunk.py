"""The unvalidated chunk of an ordinary token is the validated chunk, in every respect a caller sees."""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import strategies as st
from langchain_core.load import dumpd
from langchain_core.messages import AIMessageChunk
from nim_harness._plain_chunk import FAST_PATH, plain_chunk, validated_plain_chunk

contents = st.text(min_size=1, max_size=40)
idents = st.none() | st.text(min_size=1, max_size=30)


def _seen(chunk: object) -> tuple[object, ...]:
    message = chunk.message  # type: ignore[attr-defined]
    return (
        repr(chunk),
        chunk.model_dump(),  # type: ignore[attr-defined]
        chunk.model_fields_set,  # type: ignore[attr-defined]
        message.model_fields_set,
        message.model_extra,
        dumpd(message),
        message.text,
        message.tool_calls,
    )


def test_the_installed_langchain_core_takes_the_fast_path() -> None:
    """If a release changes the models' layout the client still works, but slower: this says so."""
    assert FAST_PATH


@given(contents, idents)
def test_a_plain_chunk_equals_the_validated_one(content: str, ident: str | None) -> None:
    fast, reference = plain_chunk(content, ident), validated_plain_chunk(content, ident)
    assert fast == reference
    assert _seen(fast) == _seen(reference)
    assert pickle.loads(pickle.dumps(fast)) == reference


@given(st.lists(st.tuples(contents, idents), min_size=1, max_size=6))
def test_plain_chunks_add_up_as_validated_ones_do(parts: list[tuple[str, str | None]]) -> None:
    fast = [plain_chunk(content, ident) for content, ident in parts]
    reference = [validated_plain_chunk(content, ident) for content, ident in parts]
    total_fast, total_reference = fast[0], reference[0]
    for chunk in fast[1:]:
        total_fast += chunk
    for chunk in reference[1:]:
        total_reference += chunk
    assert _seen(total_fast) == _seen(total_reference)


def test_each_chunk_owns_its_containers() -> None:
    """What langchain-core or a caller writes into one chunk's dicts and lists must not leak to the next."""
    first, second = plain_chunk("a", None), plain_chunk("b", None)
    first.message.additional_kwargs["x"] = 1
    first.message.response_metadata["y"] = 2
    assert isinstance(first.message, AIMessageChunk)
    first.message.tool_call_chunks.append(
        {"name": "f", "args": "{}", "id": "1", "index": 0, "type": "tool_call_chunk"}
    )
    assert second.message.additional_kwargs == {}
    assert second.message.response_metadata == {}
    assert second.message.tool_call_chunks == []


def test_assignment_after_construction_still_validates_as_langchain_core_expects() -> None:
    """langchain-core's ``stream`` sets ``message.id`` on every chunk it passes on."""
    chunk = plain_chunk("a", None)
    chunk.message.id = "run-1"
    assert chunk.message.id == "run-1"
    assert "id" in chunk.message.model_fields_set
