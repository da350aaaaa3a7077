"""Streaming: chunks arrive in order, add up to one answer, and carry usage when asked for it."""

from __future__ import annotations

import pytest
from contract_checks import assert_text_answer, assert_usage, combine
from langchain_core.messages import AIMessageChunk


@pytest.mark.nim(cassette="chat/stream_usage")
def test_stream_with_usage(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7)
    chunks = list(llm.stream("Name three primary colors."))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert sum(1 for c in chunks if isinstance(c.content, str) and c.content) >= 2, (
        "not streamed token by token"
    )
    assert sum(1 for c in chunks if c.usage_metadata) == 1, "usage must come exactly once"
    answer = combine(chunks)
    assert_text_answer(answer)
    assert_usage(answer)


@pytest.mark.nim(cassette="chat/stream_usage")
async def test_astream_with_usage(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7)
    chunks = [chunk async for chunk in llm.astream("Name three primary colors.")]
    answer = combine(chunks)
    assert_text_answer(answer)
    assert_usage(answer)


@pytest.mark.nim(cassette="chat/stream_no_usage")
def test_stream_without_usage(nim_harness_chat) -> None:
    llm = nim_harness_chat(max_tokens=256, temperature=0.7, stream_usage=False)
    answer = combine(list(llm.stream("Give me a haiku about GPUs.")))
    assert_text_answer(answer)
    assert answer.usage_metadata is None


@pytest.mark.nim(cassette="chat/stream_usage")
def test_invoke_with_streaming_on_gives_the_same_contract(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7, streaming=True)
    answer = llm.invoke("Name three primary colors.")
    assert_text_answer(answer)
    assert_usage(answer)
