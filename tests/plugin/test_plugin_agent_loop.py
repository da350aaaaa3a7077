"""An agent loop in a user's test, with no cassette: ``nim(on_miss="synthesize")`` serves it whole.

What a project gets from the plugin before it has recorded anything: the model calls the tool with
the values the question holds, one call per city it asks about, and answers from the tool results,
so the loop ends as it would against a NIM.
"""

from __future__ import annotations

import pytest
from plugin_runs import run


def test_an_agent_loop_runs_against_the_stand_in(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_inner_agent="""
import pytest
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool


@tool
def get_weather(city: str) -> str:
    \"\"\"Get the weather in a city.\"\"\"
    return f"sunny in {city}"


@pytest.mark.nim(on_miss="synthesize")
def test_loop(nim_harness_chat):
    llm = nim_harness_chat(max_retries=0).bind_tools([get_weather])
    conversation = [HumanMessage("What is the weather in Lisbon and Cairo?")]
    for _ in range(5):
        reply = llm.invoke(conversation)
        conversation.append(reply)
        if not reply.tool_calls:
            break
        conversation.extend(get_weather.invoke(call) for call in reply.tool_calls)
    else:
        pytest.fail("the agent loop did not end within five turns")
    assert [call["args"] for call in conversation[1].tool_calls] == [{"city": "Lisbon"}, {"city": "Cairo"}]
    assert reply.content == "get_weather returned: sunny in Lisbon get_weather returned: sunny in Cairo"
"""
    )
    run(project).assert_outcomes(passed=1)
