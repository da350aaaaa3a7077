"""Tool calling: auto, named, required, parallel, streamed, and the turn after a tool result."""

from __future__ import annotations

import pytest
from contract_checks import (
    TIME_TOOL,
    WEATHER_TOOL,
    assert_text_answer,
    assert_tool_calls,
    assert_usage,
    combine,
    require,
)
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage


@pytest.mark.nim(cassette="tools/auto")
def test_auto_tool_choice(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024).bind_tools([WEATHER_TOOL], tool_choice="auto")
    answer = llm.invoke("What's the weather like in Paris right now?")
    assert_tool_calls(answer, "get_weather")
    assert answer.response_metadata["finish_reason"] == "tool_calls"
    assert_usage(answer)


@pytest.mark.nim(cassette="tools/named")
def test_named_tool_choice(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024).bind_tools(
        [WEATHER_TOOL], tool_choice="get_weather"
    )
    answer = llm.invoke("Check the weather in Berlin for me, in fahrenheit.")
    assert_tool_calls(answer, "get_weather")
    # A named choice is guided decoding on vLLM: the finish reason stays "stop" there.
    assert answer.response_metadata["finish_reason"] in ("stop", "tool_calls")


@pytest.mark.nim(cassette="tools/required")
def test_required_tool_choice(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024).bind_tools(
        [WEATHER_TOOL], tool_choice="required"
    )
    answer = llm.invoke("I'm flying to Tokyo tomorrow. How warm will it be?")
    assert_tool_calls(answer, "get_weather")


@pytest.mark.nim(cassette="tools/parallel")
def test_parallel_tool_calls(nim_harness_chat, nim_harness_mode, nim_harness_model) -> None:
    llm = nim_harness_chat(temperature=0.6, top_p=0.95, max_tokens=1024).bind_tools(
        [WEATHER_TOOL, TIME_TOOL], tool_choice="auto", parallel_tool_calls=True
    )
    answer = llm.invoke(
        [SystemMessage("/no_think"), HumanMessage("What's the weather and the local time in Madrid?")]
    )
    count = len(answer.tool_calls)
    require(
        count > 1,
        nim_harness_mode,
        f"made {count} tool call(s) where parallel_tool_calls asked for two: {nim_harness_model} "
        "(as served there) does not call tools in parallel",
    )
    assert_tool_calls(answer, "get_weather", "get_local_time")
    assert answer.response_metadata["finish_reason"] == "tool_calls"


@pytest.mark.nim(cassette="tools/stream_auto")
def test_streamed_tool_call(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7).bind_tools(
        [WEATHER_TOOL], tool_choice="auto"
    )
    chunks = list(llm.stream("Do I need an umbrella in London today?"))
    assert any(chunk.tool_call_chunks for chunk in chunks)
    answer = combine(chunks)
    assert_tool_calls(answer, "get_weather")
    assert_usage(answer)


@pytest.mark.nim(cassette="tools/after_result")
def test_the_turn_after_a_tool_result(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7).bind_tools([WEATHER_TOOL])
    call_id = "chatcmpl-tool-2d97500079f1dc71490c36929848c84b"
    answer = llm.invoke(
        [
            HumanMessage("What's the weather in Rome?"),
            AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Rome"}, "id": call_id}]),
            ToolMessage('{"temperature_c": 24, "condition": "sunny", "humidity": 41}', tool_call_id=call_id),
        ]
    )
    assert_text_answer(answer)
    assert_usage(answer)
