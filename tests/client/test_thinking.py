"""Reasoning: fields and <think> blocks kept out of content, whole or cut anywhere; thinking switches."""

from __future__ import annotations

import itertools

import pytest
from chat_fakes import chunk, completion, llm, router, sent_json, sse_response
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, AIMessageChunk
from nim_harness._thinking import ThinkSplitter, split_answer, split_whole

words = st.text(st.sampled_from("ab <>/\nthink"), max_size=30)


@given(words, words, st.lists(st.integers(0, 80), max_size=10))
def test_any_cut_splits_like_the_whole(thought: str, answer: str, cuts: list[int]) -> None:
    text = f"<think>{thought}</think>{answer}" if "</think>" not in thought else answer
    bounds = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    splitter = ThinkSplitter()
    reasoning, content = "", ""
    for a, b in itertools.pairwise(bounds):
        r, c = splitter.feed(text[a:b])
        reasoning, content = reasoning + r, content + c
    r, c = splitter.flush()
    assert (reasoning + r, content + c) == split_whole(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>plan</think>\n\nAnswer", ("plan", "Answer")),
        ("  <think>plan</think>Answer", ("plan", "Answer")),
        ("Answer about <think> tags", ("", "Answer about <think> tags")),
        ("<think>never closed", ("never closed", "")),
        ("<thi", ("", "<thi")),
        ("", ("", "")),
    ],
)
def test_split_whole(text: str, expected: tuple[str, str]) -> None:
    assert split_whole(text) == expected


def test_reasoning_content_field_on_invoke_gives_reasoning_block() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion("42", reasoning_content="2*21"))
        message = llm(mock).invoke("?")
    assert isinstance(message, AIMessage)
    assert message.content == "42"
    assert message.additional_kwargs["reasoning_content"] == "2*21"
    assert {"type": "reasoning", "reasoning": "2*21"} in [dict(b) for b in message.content_blocks]


def test_think_tags_streamed_across_chunk_borders() -> None:
    pieces = ["<thi", "nk>Let me", " see</th", "ink>", "\n\nIt is", " 4."]
    events = [chunk({"role": "assistant", "content": ""}), *[chunk({"content": p}) for p in pieces]]
    events.append(chunk({"content": ""}, finish_reason="stop"))
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(events))
        chunks = list(llm(mock).stream("2+2?"))
    assert all("think>" not in str(c.content) for c in chunks)
    total = AIMessageChunk(content="")
    for piece in chunks:
        total = total + piece
    assert total.content == "It is 4."
    assert total.additional_kwargs["reasoning_content"] == "Let me see"


def test_reasoning_field_streamed() -> None:
    events = [
        chunk({"reasoning": "hm"}),
        chunk({"reasoning_content": "m"}),
        chunk({"content": "ok"}, finish_reason="stop"),
    ]
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(events))
        total = AIMessageChunk(content="")
        for piece in llm(mock).stream("?"):
            total = total + piece
    assert (total.content, total.additional_kwargs["reasoning_content"]) == ("ok", "hmm")


def test_v1_output_puts_reasoning_in_content_blocks() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion("<think>why</think>so"))
        message = llm(mock, output_version="v1").invoke("?")
    assert message.content == [{"type": "reasoning", "reasoning": "why"}, {"type": "text", "text": "so"}]


def test_thinking_mode_on_a_model_without_a_switch_warns_and_sends_nothing_extra() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion())
        model = llm(mock, model="someone/unknown")
        with pytest.warns(UserWarning, match="no thinking switch the catalogue knows of"):
            thinking = model.with_thinking_mode(True)
        thinking.invoke("x")
        assert sent_json(mock) == {"messages": [{"role": "user", "content": "x"}], "model": "someone/unknown"}


def test_thinking_mode_field_on_unknown_model_warns_at_construction() -> None:
    with router() as mock, pytest.warns(UserWarning, match="model_kwargs"):
        llm(mock, model="someone/unknown", thinking_mode=True)


def test_thinking_mode_on_a_local_nim_warns_once_the_model_is_known() -> None:
    listing = {"data": [{"id": "local/only"}]}
    with router() as mock:
        mock.get("/models").respond(200, json=listing)
        mock.post("/chat/completions").respond(200, json=completion())
        with pytest.warns(UserWarning, match="'local/only' has no thinking switch"):
            llm(mock, model=None, thinking_mode=True).invoke("x")
        assert sent_json(mock) == {"messages": [{"role": "user", "content": "x"}], "model": "local/only"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The user asks 2+2.\n</think>\n\nIt is 4.", ("The user asks 2+2.", "It is 4.")),
        ("</think>It is 4.", ("", "It is 4.")),
        ("<think>a</think>b</think>c", ("a", "b</think>c")),
    ],
)
def test_a_lone_closing_tag_ends_the_reasoning_of_a_whole_answer(
    text: str, expected: tuple[str, str]
) -> None:
    assert split_answer(text) == expected


def test_invoke_splits_an_r1_style_answer() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion("2+2, easy.</think>\n\n4"))
        message = llm(mock, model="deepseek-ai/deepseek-r1").invoke("2+2?")
    assert message.content == "4"
    assert message.additional_kwargs["reasoning_content"] == "2+2, easy."


def test_a_stream_leaves_text_before_a_lone_closing_tag_as_content() -> None:
    # The text was handed out before the tag arrived; the published client streams it the same way.
    events = [chunk({"content": "2+2, easy."}), chunk({"content": "</think>4"}, finish_reason="stop")]
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(events))
        total = AIMessageChunk(content="")
        for piece in llm(mock).stream("2+2?"):
            total = total + piece
    assert total.content == "2+2, easy.</think>4"


def test_v1_output_streams_reasoning_then_text_blocks() -> None:
    events = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "why"}),
        chunk({"content": "so"}),
        chunk({}, finish_reason="stop"),
    ]
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(events))
        total = AIMessageChunk(content=[])
        for piece in llm(mock, output_version="v1").stream("x"):
            total = total + piece
    assert total.content == [
        {"type": "reasoning", "reasoning": "why", "index": 0},
        {"type": "text", "text": "so", "index": 1},
    ]
