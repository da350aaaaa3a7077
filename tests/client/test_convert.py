"""Message conversion: LangChain -> wire -> LangChain is the identity on what the wire can carry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from nim_harness._convert import from_wire, parse_tool_calls, reasoning_of, to_wire

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
names = st.none() | st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
ids = st.from_regex(r"call-[a-z0-9]{1,8}", fullmatch=True)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
tool_calls = st.lists(
    st.builds(
        lambda name, args, call_id: {"name": name, "args": args, "id": call_id, "type": "tool_call"},
        st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
        st.dictionaries(text, json_values, max_size=3),
        ids,
    ),
    max_size=3,
)
# Content that starts with a <think> block is reasoning, not an answer: such text does not
# round-trip as content by design (see test_think_block_in_assistant_content_becomes_reasoning).
answer_text = text.filter(lambda t: not t.lstrip().startswith("<think>"))

messages = st.one_of(
    st.builds(SystemMessage, content=text, name=names),
    st.builds(HumanMessage, content=text, name=names),
    st.builds(AIMessage, content=answer_text, tool_calls=tool_calls, name=names),
    st.builds(ToolMessage, content=text, tool_call_id=ids, name=names),
    st.builds(ChatMessage, content=text, role=st.sampled_from(["developer", "critic"]), name=names),
)


def _essence(message: BaseMessage) -> dict[str, Any]:
    essence: dict[str, Any] = {"type": message.type, "content": message.content, "name": message.name}
    if isinstance(message, AIMessage):
        essence["tool_calls"] = [(c["name"], c["args"], c["id"]) for c in message.tool_calls]
    if isinstance(message, ToolMessage):
        essence["tool_call_id"] = message.tool_call_id
    if isinstance(message, ChatMessage):
        essence["role"] = message.role
    return essence


@settings(max_examples=150)
@given(st.lists(messages, min_size=1, max_size=5))
def test_round_trip(original: list[BaseMessage]) -> None:
    wire = to_wire(original)
    json.dumps(wire)  # always serialisable
    back = [from_wire(json.loads(json.dumps(item))) for item in wire]
    assert [_essence(m) for m in back] == [_essence(m) for m in original]


def test_invalid_tool_calls_go_out_as_sent_and_come_back_invalid() -> None:
    message = AIMessage(
        "",
        invalid_tool_calls=[
            {"name": "f", "args": "{oops", "id": "c1", "error": None, "type": "invalid_tool_call"}
        ],
    )
    (wire,) = to_wire([message])
    assert wire["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
    ]
    back = from_wire(wire)
    assert isinstance(back, AIMessage)
    assert back.tool_calls == []
    assert [(c["name"], c["args"], c["id"]) for c in back.invalid_tool_calls] == [("f", "{oops", "c1")]


@pytest.mark.parametrize(
    ("arguments", "valid"),
    [('{"a": 1}', True), ("", True), ({"a": 1}, True), ("[1, 2]", False), ("{bad", False), ("null", False)],
)
def test_parse_tool_calls(arguments: Any, valid: bool) -> None:
    calls, invalid = parse_tool_calls([{"id": "x", "function": {"name": "f", "arguments": arguments}}])
    assert (len(calls), len(invalid)) == ((1, 0) if valid else (0, 1))


def test_think_block_in_assistant_content_becomes_reasoning() -> None:
    back = from_wire({"role": "assistant", "content": "<think>step 1</think>\n\nAnswer"})
    assert back.content == "Answer"
    assert back.additional_kwargs == {"reasoning_content": "step 1"}


def test_reasoning_field_wins_and_later_think_tags_stay_in_content() -> None:
    assert reasoning_of({"content": "Say <think> literally", "reasoning_content": "why"}) == (
        "why",
        "Say <think> literally",
    )
    assert reasoning_of({"content": "x", "reasoning": "alt"}) == ("alt", "x")
    assert reasoning_of({"content": None}) == (None, "")


def test_assistant_list_content_is_sent_as_text() -> None:
    message = AIMessage([{"type": "reasoning", "reasoning": "hidden"}, {"type": "text", "text": "a"}, "b"])
    assert to_wire([message])[0]["content"] == "ab"


def test_tool_message_with_image_keeps_blocks() -> None:
    message = ToolMessage(
        [{"type": "text", "text": "see"}, {"type": "image", "url": "https://x/y.png"}], tool_call_id="c"
    )
    assert to_wire([message])[0]["content"] == [
        {"type": "text", "text": "see"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
    ]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"type": "audio", "url": "x"}, "'audio' is not supported"),
        ({"type": "image", "base64": "AAA"}, "mime_type"),
        ({"type": "image", "file_id": "f"}, "file ids"),
        ({"type": "image_url", "image_url": 3}, "image_url"),
    ],
)
def test_unsupported_blocks_say_what_to_use(block: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_wire([HumanMessage(content=[block])])


def test_function_message_is_sent_in_the_function_role() -> None:
    assert to_wire([FunctionMessage(content="22 C", name="get_weather")]) == [
        {"role": "function", "content": "22 C", "name": "get_weather"}
    ]


image_urls = st.sampled_from(["https://example.org/a.png", "data:image/png;base64,iVBORw0KGgo="])
wire_blocks = st.lists(
    st.one_of(
        st.builds(lambda t: {"type": "text", "text": t}, text),
        st.builds(lambda u: {"type": "image_url", "image_url": {"url": u}}, image_urls),
        st.builds(
            lambda u, d: {"type": "image_url", "image_url": {"url": u, "detail": d}},
            image_urls,
            st.sampled_from(["low", "high", "auto"]),
        ),
    ),
    min_size=1,
    max_size=4,
)
wire_messages = st.one_of(
    st.builds(lambda c: {"role": "user", "content": c}, text | wire_blocks),
    st.builds(lambda c: {"role": "system", "content": c}, text),
    st.builds(lambda c, i: {"role": "tool", "content": c, "tool_call_id": i}, text, ids),
)


@settings(max_examples=100)
@given(wire_messages)
def test_wire_round_trip_keeps_content_blocks(wire: dict[str, Any]) -> None:
    assert to_wire([from_wire(wire)]) == [wire]
