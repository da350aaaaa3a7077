"""bind_tools: tool calls read back whole and streamed, invalid JSON kept, choices validated."""

from __future__ import annotations

from typing import Any

import pytest
from chat_fakes import chunk, completion, llm, router, sent_json, sse_response
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from nim_harness._tools import format_tools, to_wire_choice


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"sunny in {city}"


def _call(arguments: str, call_id: str = "chatcmpl-tool-1") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": arguments}}


def test_invoke_reads_tool_calls() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(
            200, json=completion(None, tool_calls=[_call('{"city": "Paris"}')], finish_reason="tool_calls")
        )
        message = llm(mock).bind_tools([get_weather]).invoke("Weather?")
    assert isinstance(message, AIMessage)
    assert message.content == ""
    assert message.tool_calls == [
        {"name": "get_weather", "args": {"city": "Paris"}, "id": "chatcmpl-tool-1", "type": "tool_call"}
    ]
    assert message.response_metadata["finish_reason"] == "tool_calls"


def test_invalid_arguments_become_invalid_tool_calls() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(
            200, json=completion(None, tool_calls=[_call('{"city": "Par')])
        )
        message = llm(mock).bind_tools([get_weather]).invoke("Weather?")
    assert isinstance(message, AIMessage)
    assert message.tool_calls == []
    (bad,) = message.invalid_tool_calls
    assert (bad["name"], bad["args"], bad["id"]) == ("get_weather", '{"city": "Par', "chatcmpl-tool-1")
    assert bad["error"]


def test_streamed_tool_call_fragments_merge() -> None:
    head = {"id": "t1", "type": "function", "index": 0, "function": {"name": "get_weather"}}
    events = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"tool_calls": [head]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'Paris"}'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ""}}]}, finish_reason="tool_calls"),
    ]
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(events))
        total = AIMessageChunk(content="")
        for piece in llm(mock).bind_tools([get_weather], tool_choice="auto").stream("Weather?"):
            total = total + piece
    assert total.tool_calls == [
        {"name": "get_weather", "args": {"city": "Paris"}, "id": "t1", "type": "tool_call"}
    ]
    assert [c["index"] for c in total.tool_call_chunks] == [0]


def test_transformers_serve_whole_call_in_one_chunk() -> None:
    call = {
        "index": 0,
        "id": "r_tool_call_0",
        "function": {"arguments": '{"city": "Paris"}', "name": "get_weather"},
        "type": "function",
    }
    events = [
        chunk({"role": "assistant"}),
        chunk({"tool_calls": [call]}),
        chunk({}, finish_reason="tool_calls"),
    ]
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(events, done=False))
        total = AIMessageChunk(content="")
        for piece in llm(mock).bind_tools([get_weather]).stream("Weather?"):
            total = total + piece
    assert total.tool_calls[0]["args"] == {"city": "Paris"}


def test_tool_result_turn_is_sent_back() -> None:
    history = [
        HumanMessage("Weather?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "t1"}]),
        ToolMessage("sunny", tool_call_id="t1"),
    ]
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion("It is sunny."))
        llm(mock).bind_tools([get_weather]).invoke(history)
        sent = sent_json(mock)["messages"]
    assert sent[1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert sent[2] == {"role": "tool", "content": "sunny", "tool_call_id": "t1"}


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("any", "required"),
        (True, "required"),
        (False, "none"),
        (None, None),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
        # no "type": a function choice, as the published client reads it
        ({"function": {"name": "get_weather"}}, {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_tool_choice_mapping(choice: Any, wire: Any) -> None:
    assert to_wire_choice(choice, ["get_weather"]) == wire


def test_tool_choice_for_an_unbound_tool_is_refused() -> None:
    # the published client's wording, which callers match on
    with pytest.raises(ValueError, match=r"'get_time' not found in the tools list \['get_weather'\]"):
        to_wire_choice("get_time", ["get_weather"])
    with pytest.raises(ValueError, match="not found in the tools list"):
        to_wire_choice({"function": {"name": "get_time"}}, ["get_weather"])
    with pytest.raises(ValueError, match="not understood"):
        to_wire_choice({"type": "other"}, ["get_weather"])


def test_not_a_tool_is_explained() -> None:
    with pytest.raises(ValueError, match="cannot use 42 as a tool"):
        format_tools([42])  # type: ignore[list-item]
