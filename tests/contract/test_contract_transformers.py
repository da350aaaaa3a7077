"""The same contract against ``transformers serve`` (the live target CI runs): a server that is not a NIM.

Its recordings differ from a NIM's (no ``[DONE]``, usage inside the finish chunk, a whole tool call
in one chunk); the contract the client promises must hold all the same.
"""

from __future__ import annotations

import pytest
from contract_checks import assert_text_answer, assert_tool_calls, assert_usage, combine

CITY_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.mark.nim(cassette="transformers/nonstream")
def test_invoke(nim_harness_chat) -> None:
    answer = nim_harness_chat(max_tokens=32).invoke("Say hello")
    assert_text_answer(answer, finish=("stop", "length"))
    assert_usage(answer)


@pytest.mark.nim(cassette="transformers/stream")
def test_stream(nim_harness_chat) -> None:
    answer = combine(list(nim_harness_chat(max_tokens=8).stream("Say hello")))
    assert answer.content
    assert answer.response_metadata["finish_reason"] in ("stop", "length")
    assert_usage(answer)


@pytest.mark.nim(cassette="transformers/stream_tool_call")
def test_streamed_named_tool_call(nim_harness_chat) -> None:
    llm = nim_harness_chat(max_tokens=32, stream_usage=False).bind_tools(
        [CITY_TOOL], tool_choice="get_weather"
    )
    answer = combine(list(llm.stream("Weather in Paris?")))
    assert_tool_calls(answer, "get_weather")
