"""The stand-in serving agent loops: arguments from the conversation, parallel calls, an answer after
tool results, reasoning in each family's layout, JSON mode shaped by the prompt.

Pure (``synthesize`` on a body) where the answer's content is the point; a real uvicorn server
where a client has to read it (ChatNVIDIA's reasoning and tool parsing). Every answer is checked
streamed and non-streamed: the stream, put back together, is the same message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nim_harness import ChatNVIDIA
from synth_schemas import tool_schemas

from nim_mock import RunningServer, SynthConfig, create_app
from nim_mock.cassette import RecordedResponse
from nim_mock.synth.arguments import arguments_for
from nim_mock.synth.budget import Budget
from nim_mock.synth.rules import ReplyRulesError, parse_reply_rules
from nim_mock.synth.synthesize import synthesize
from nim_mock.wire.identity import NIM2

MODEL = "meta/llama-3.1-8b-instruct"
VALIDATOR = jsonschema.Draft202012Validator


def _tool(name: str, properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties, "required": required or list(properties)}
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


MAGIC = _tool(
    "magic_function", {"input": {"type": "integer", "exclusiveMinimum": -1000, "exclusiveMaximum": 1000}}
)
WEATHER = _tool(
    "get_weather",
    {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    ["city"],
)
CUSTOMER = _tool("unicode_customer", {"customer_name": {"type": "string"}, "description": {"type": "string"}})
TIME = _tool("get_time", {"zone": {"type": "string"}})


def _body(text: str, *tools: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": text}], **extra}
    if tools:
        body["tools"] = list(tools)
    return body


def _message(body: dict[str, Any], config: SynthConfig | None = None) -> dict[str, Any]:
    """The non-streamed message, after checking that the streamed answer reassembles to it."""
    whole = synthesize(body, config or SynthConfig(), chat=True)
    streamed = synthesize({**body, "stream": True}, config or SynthConfig(), chat=True)
    assert isinstance(whole, RecordedResponse), whole
    assert isinstance(streamed, RecordedResponse), streamed
    choice = json.loads(whole.body or b"")["choices"][0]
    message = choice["message"]
    assert _reassembled(streamed) == (
        message["reasoning_content"],
        message["content"],
        [(c["function"]["name"], c["function"]["arguments"]) for c in message["tool_calls"]],
        choice["finish_reason"],
    )
    return {**message, "finish_reason": choice["finish_reason"]}


def _reassembled(response: RecordedResponse) -> tuple[str | None, str | None, list[tuple[str, str]], str]:
    """(reasoning, content, [(name, arguments)], finish_reason) of choice 0 of a streamed answer."""
    reasoning, content, finish = "", "", ""
    calls: dict[int, list[str]] = {}
    saw_calls = False
    for event in response.events or ():
        data = event.raw.removeprefix(b"data: ").strip()
        if data == b"[DONE]":
            continue
        for choice in json.loads(data)["choices"]:
            delta = choice["delta"]
            reasoning += delta.get("reasoning_content", "")
            content += delta.get("content") or ""
            for call in delta.get("tool_calls", []):
                saw_calls = True
                slot = calls.setdefault(call["index"], ["", ""])
                slot[0] += call.get("function", {}).get("name", "")
                slot[1] += call.get("function", {}).get("arguments", "")
            finish = choice["finish_reason"] or finish
    # a chosen call's message content is null, a forced one's "" (as vLLM's)
    text: str | None = content if content or not saw_calls or finish != "tool_calls" else None
    return reasoning or None, text, [(name, arguments) for name, arguments in calls.values()], finish


def _calls(message: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message["tool_calls"]]


# -- arguments from the conversation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tool", "expected"),
    [
        ("What is the value of magic_function(3)? Use the tool.", MAGIC, {"input": 3}),
        ("magic_function(input=-7) please", MAGIC, {"input": -7}),
        ("Apply the magic function to 42", MAGIC, {"input": 42}),
        (
            "What is the weather in San Francisco, CA?",
            WEATHER,
            {"city": "San Francisco, CA", "unit": "celsius"},
        ),
        ("get_weather for city: Oslo in fahrenheit", WEATHER, {"city": "Oslo", "unit": "fahrenheit"}),
        (
            "Create a customer named '你好啊集团' (Hello Group) - a Chinese technology company",
            CUSTOMER,
            {"customer_name": "你好啊集团", "description": "Hello Group"},
        ),
        ('Create a customer "Ada Ltd" described as "a lovelace shop"', CUSTOMER, None),
    ],
)
def test_arguments_come_from_the_last_user_turn(text: str, tool: dict[str, Any], expected: Any) -> None:
    message = _message(_body(text, tool))
    [(name, arguments)] = _calls(message)
    assert name == tool["function"]["name"]
    VALIDATOR(tool["function"]["parameters"]).validate(arguments)
    if expected is None:  # two quoted strings, for two string properties, in order
        assert arguments == {"customer_name": "Ada Ltd", "description": "a lovelace shop"}
    else:
        assert arguments == expected


def test_a_value_that_does_not_fit_the_schema_is_passed_over() -> None:
    message = _message(_body("What is magic_function(5000)? Or 12.", MAGIC))
    assert _calls(message) == [("magic_function", {"input": 12})]


_words = st.sampled_from(
    ["the", "weather", "in", "and", "or", "city:", "input", "=", "named", "magic_function"]
)
_values = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: f"{f:.3f}"),
    st.text(min_size=1, max_size=12).map(lambda t: f"'{t}'"),
    st.text(min_size=1, max_size=12).map(lambda t: f'"{t}"'),
    st.from_regex(r"[A-Z][a-z]{1,8}( [A-Z][a-z]{1,8})?", fullmatch=True),
    st.sampled_from(["magic_function(", ")", "(", ",", "lookup_thing(1, 'x')", "\n", "。", "“Ünï”"]),
)
conversations = st.lists(st.one_of(_words, _values, st.text(max_size=8)), max_size=24).map(" ".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tool_schemas, conversations)
def test_drawn_arguments_always_validate(schema: dict[str, Any], text: str) -> None:
    for arguments in arguments_for("lookup_thing", schema, text, Budget.for_answer(None)):
        VALIDATOR(schema, format_checker=VALIDATOR.FORMAT_CHECKER).validate(arguments)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations, st.booleans())
def test_calls_over_the_wire_validate_and_stream_as_they_answer(text: str, parallel: bool) -> None:
    body = _body("lookup_thing " + text, MAGIC, WEATHER, CUSTOMER, parallel_tool_calls=parallel)
    body["tools"].append(_tool("lookup_thing", {"q": {"type": "string"}, "n": {"type": "integer"}}))
    message = _message(body)
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in body["tools"]}
    calls = _calls(message)
    assert calls
    assert parallel or len(calls) == 1
    for name, arguments in calls:
        VALIDATOR(schemas[name]).validate(arguments)


def test_a_string_with_a_format_keeps_the_made_value() -> None:
    day = {"anyOf": [{"type": "string", "format": "date"}]}
    tool = _tool("book", {"day": day, "who": {"type": "string"}})
    [(_, arguments)] = _calls(_message(_body("book 'tomorrow' for 'Ada'", tool)))
    VALIDATOR(tool["function"]["parameters"], format_checker=VALIDATOR.FORMAT_CHECKER).validate(arguments)
    assert arguments["who"] == "tomorrow"  # the first quoted string goes to the first string it fits


def test_a_wide_schema_takes_the_values_the_text_has_and_defaults_for_the_rest() -> None:
    properties = {f"p{i}": {"type": "integer", "minimum": 0} for i in range(400)}
    tool = _tool("wide", properties)
    text = "wide " + " ".join(str(n) for n in range(60))
    [(name, arguments)] = _calls(_message(_body(text, tool)))
    assert name == "wide"
    VALIDATOR(tool["function"]["parameters"]).validate(arguments)
    assert [arguments[f"p{i}"] for i in range(32)] == list(range(32))  # the first 32 numbers are read
    assert {arguments[f"p{i}"] for i in range(32, 400)} == {0}  # the rest keep their defaults


# -- parallel calls and tool_choice ---------------------------------------------------------------


def test_a_list_of_values_makes_one_call_each() -> None:
    message = _message(_body("What is the weather in Paris and London?", WEATHER))
    assert message["finish_reason"] == "tool_calls"
    assert _calls(message) == [
        ("get_weather", {"city": "Paris", "unit": "celsius"}),
        ("get_weather", {"city": "London", "unit": "celsius"}),
    ]
    ids = [call["id"] for call in message["tool_calls"]]
    assert len(set(ids)) == 2
    assert all(re.fullmatch(r"chatcmpl-tool-[0-9a-f]{32}", call_id) for call_id in ids)


def test_two_tools_named_make_two_calls_in_the_order_named() -> None:
    message = _message(_body("Use get_time for zone 'UTC' and get_weather for Rome", WEATHER, TIME))
    assert _calls(message) == [
        ("get_time", {"zone": "UTC"}),
        ("get_weather", {"city": "Rome", "unit": "celsius"}),
    ]


def test_written_calls_each_become_a_call() -> None:
    message = _message(_body("Compute magic_function(3) and magic_function(5)", MAGIC))
    assert _calls(message) == [("magic_function", {"input": 3}), ("magic_function", {"input": 5})]


@pytest.mark.parametrize(
    "extra",
    [
        {"parallel_tool_calls": False},
        {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
    ],
)
def test_one_call_when_parallel_calls_are_off_or_a_tool_is_named(extra: dict[str, Any]) -> None:
    message = _message(
        _body("Use get_weather for Paris and London, and get_time too", WEATHER, TIME, **extra)
    )
    assert _calls(message) == [("get_weather", {"city": "Paris", "unit": "celsius"})]


def test_required_may_call_several_and_none_calls_nothing() -> None:
    required = _message(_body("the weather in Paris or Lima", WEATHER, tool_choice="required"))
    assert required["finish_reason"] == "stop"
    assert required["content"] == ""
    assert [arguments["city"] for _, arguments in _calls(required)] == ["Paris", "Lima"]
    none = _message(_body("the weather in Paris", WEATHER, tool_choice="none"))
    assert none["tool_calls"] == []
    assert none["finish_reason"] == "stop"


def test_rules_pin_arguments_for_any_way_the_tool_is_called() -> None:
    rules = parse_reply_rules(
        {
            "rules": [
                {"match": r"weather in (\w+)", "tool": "get_weather", "arguments": {"city": "\\1-pinned"}}
            ]
        }
    )
    config = SynthConfig(rules=rules)
    for extra in ({}, {"tool_choice": "required"}, {"tool_choice": {"function": {"name": "get_weather"}}}):
        message = _message(_body("the weather in Quito", WEATHER, **extra), config)
        assert _calls(message) == [("get_weather", {"city": "Quito-pinned"})]


@pytest.mark.parametrize(
    ("rule", "spot"),
    [
        ({"match": "x", "reply": "y", "arguments": {"a": 1}}, "rules[0].arguments: needs a 'tool'"),
        ({"match": "x", "tool": "t", "arguments": [1]}, "rules[0].arguments: must be an object"),
        ({"match": "x", "tool": "t", "arguments": {"a": "\\2"}}, "rules[0].arguments: bad group reference"),
    ],
)
def test_bad_pinned_arguments_name_the_spot(rule: dict[str, Any], spot: str) -> None:
    with pytest.raises(ReplyRulesError, match=re.escape(spot)):
        parse_reply_rules({"rules": [rule]}, "rules.json")


# -- after a tool result ------------------------------------------------------------------------


def test_a_tool_result_gets_an_answer_that_uses_it_not_another_call() -> None:
    body = _body("What is magic_function(3)?", MAGIC)
    body["messages"] += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "magic_function", "arguments": '{"input": 3}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "5"},
    ]
    message = _message(body)
    assert message["tool_calls"] == []
    assert message["content"] == "magic_function returned: 5"
    assert message["finish_reason"] == "stop"


# -- reasoning ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "extra"),
    [
        ("openai/gpt-oss-20b", {}),
        ("deepseek-ai/deepseek-r1", {}),
        ("nvidia/nemotron-3-nano-30b-a3b", {"chat_template_kwargs": {"enable_thinking": True}}),
        ("mistralai/mistral-small-4-119b-2603", {"reasoning_effort": "high"}),
    ],
)
def test_reasoning_models_answer_with_reasoning_content(model: str, extra: dict[str, Any]) -> None:
    message = _message(_body("Why is the sky blue?", model=model, **extra))
    assert message["reasoning_content"].startswith('The user asks: "Why is the sky blue?".')
    assert "<think>" not in message["content"]
    assert message["content"]


@pytest.mark.parametrize(
    ("model", "extra"),
    [
        (MODEL, {}),
        ("nvidia/nemotron-3-nano-30b-a3b", {"chat_template_kwargs": {"enable_thinking": False}}),
        ("openai/gpt-oss-20b", {"chat_template_kwargs": {"enable_thinking": False}}),
    ],
)
def test_no_reasoning_unless_the_model_reasons_or_it_is_switched_on(
    model: str, extra: dict[str, Any]
) -> None:
    message = _message(_body("Why is the sky blue?", model=model, **extra))
    assert message["reasoning_content"] is None
    assert "<think>" not in message["content"]


@pytest.mark.parametrize(
    ("model", "switch"),
    [
        ("nvidia/llama-3.3-nemotron-super-49b-v1", "detailed thinking on"),
        ("nvidia/nvidia-nemotron-nano-9b-v2", "/think"),
    ],
)
def test_a_prompt_switch_puts_a_think_block_inline(model: str, switch: str) -> None:
    body = _body("Why is the sky blue?", model=model)
    body["messages"].insert(0, {"role": "system", "content": f"Be brief.\n{switch}"})
    message = _message(body)
    assert message["reasoning_content"] is None
    assert re.fullmatch(r"<think>\nThe user asks: .*\n</think>\n\n.+", message["content"], re.DOTALL)


def test_max_tokens_counts_reasoning_first() -> None:
    body = _body("Why is the sky blue?", model="openai/gpt-oss-20b", max_tokens=4)
    whole = synthesize(body, SynthConfig(), chat=True)
    assert isinstance(whole, RecordedResponse)
    answer = json.loads(whole.body or b"")
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["reasoning_content"] == "The user asks:"
    assert choice["message"]["content"] == ""
    assert answer["usage"]["completion_tokens"] == 4


def test_a_reasoning_model_calls_tools_with_its_reasoning_alongside() -> None:
    message = _message(_body("What is magic_function(3)?", MAGIC, model="openai/gpt-oss-20b"))
    assert message["reasoning_content"].endswith("It needs magic_function.")
    assert _calls(message) == [("magic_function", {"input": 3})]


# -- JSON mode ----------------------------------------------------------------------------------

JSON_MODE = {"response_format": {"type": "json_object"}}


def test_json_mode_follows_a_schema_in_the_system_prompt() -> None:
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "year": {"type": "integer", "minimum": 1900}},
        "required": ["title", "year"],
    }
    body = _body("Name a film.", **JSON_MODE)
    body["messages"].insert(0, {"role": "system", "content": f"Answer as JSON matching {json.dumps(schema)}"})
    answer = json.loads(_message(body)["content"])
    VALIDATOR(schema).validate(answer)


def test_json_mode_answers_in_the_shape_of_an_example() -> None:
    text = 'Reply like {"name": "Ada", "tags": ["x"], "score": 1.5} and nothing else.'
    assert json.loads(_message(_body(text, **JSON_MODE))["content"]) == {
        "name": "Ada",
        "tags": ["x"],
        "score": 1.5,
    }


def test_json_mode_uses_the_keys_the_prompt_names() -> None:
    text = "Tell me a joke about cats. Return the result as a JSON with 'setup' and 'punchline' keys."
    answer = json.loads(_message(_body(text, **JSON_MODE))["content"])
    assert set(answer) == {"setup", "punchline"}
    assert all(isinstance(value, str) for value in answer.values())


def test_json_mode_without_a_shape_wraps_the_reply() -> None:
    answer = json.loads(_message(_body("Hello there {not json", **JSON_MODE))["content"])
    assert list(answer) == ["response"]


# -- through a client ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = RunningServer(create_app([], on_miss="synthesize"))
    server.start()
    yield server.base_url + "/v1"
    server.stop()


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "model",
    ["nvidia/llama-3.3-nemotron-super-49b-v1", "nvidia/nemotron-3-nano-30b-a3b", "openai/gpt-oss-20b"],
)
def test_chatnvidia_reads_the_reasoning_of_every_layout(base_url: str, model: str, stream: bool) -> None:
    llm = ChatNVIDIA(model=model, base_url=base_url, api_key="not-a-key", max_retries=0)
    thinking = llm.with_thinking_mode(True) if model != "openai/gpt-oss-20b" else llm
    if stream:
        chunks = list(thinking.stream("Why is the sky blue?"))
        reasoning = "".join(c.additional_kwargs.get("reasoning_content", "") for c in chunks)
        content = "".join(str(c.content) for c in chunks)
    else:
        message = thinking.invoke("Why is the sky blue?")
        reasoning, content = message.additional_kwargs["reasoning_content"], str(message.content)
    assert reasoning.strip().startswith(
        'The user asks: "Why is the sky blue?".'
    )  # <think> keeps its newlines
    assert "think>" not in content
    assert content.startswith("This is a synthesized reply")


def test_chatnvidia_runs_an_agent_loop_with_parallel_calls(base_url: str) -> None:
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_core.tools import tool

    @tool
    def get_weather(city: str) -> str:
        """Get the weather in a city."""
        return f"sunny in {city}"

    llm = ChatNVIDIA(model=MODEL, base_url=base_url, api_key="not-a-key", max_retries=0).bind_tools(
        [get_weather]
    )
    conversation: list[Any] = [HumanMessage("What is the weather in Paris and Tokyo?")]
    called = llm.invoke(conversation)
    assert [call["args"] for call in called.tool_calls] == [{"city": "Paris"}, {"city": "Tokyo"}]
    conversation += [called, *(get_weather.invoke(call) for call in called.tool_calls)]
    assert all(isinstance(m, ToolMessage) for m in conversation[2:])
    final = llm.invoke(conversation)
    assert final.tool_calls == []
    assert final.content == "get_weather returned: sunny in Paris get_weather returned: sunny in Tokyo"


# -- exact bytes --------------------------------------------------------------------------------


def _fixed(body: dict[str, Any]) -> str:
    """The answer's bytes with ``created`` and ids pinned, so a snapshot can hold them exactly."""
    ids = iter(f"{n:032x}" for n in range(1, 1000))
    result = synthesize(body, SynthConfig(), chat=True, now=lambda: 1_800_000_000.0, new_id=lambda: next(ids))
    assert isinstance(result, RecordedResponse)
    if result.events is None:
        return (result.body or b"").decode()
    return b"".join(event.raw for event in result.events).decode()


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_parallel_calls_bytes(stream: bool, snapshot: Any) -> None:
    body = _body("What is the weather in Paris and London?", WEATHER, stream=stream)
    assert _fixed(body) == snapshot


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_reasoning_bytes(stream: bool, snapshot: Any) -> None:
    body = _body("Why?", model="openai/gpt-oss-20b", stream=stream, stream_options={"include_usage": True})
    if not stream:
        del body["stream_options"]
    assert _fixed(body) == snapshot


def test_nim2_sends_reasoning_as_vllm_032_names_it() -> None:
    """vLLM 0.32 names the field ``reasoning`` (message and stream delta); no ``reasoning_content``."""
    body = _body("Why is the sky blue?", model="openai/gpt-oss-20b")
    whole = synthesize(body, SynthConfig(), chat=True, identity=NIM2)
    streamed = synthesize({**body, "stream": True}, SynthConfig(), chat=True, identity=NIM2)
    assert isinstance(whole, RecordedResponse), whole
    assert isinstance(streamed, RecordedResponse), streamed
    message = json.loads(whole.body)["choices"][0]["message"]
    assert "reasoning_content" not in message
    assert message["reasoning"].startswith('The user asks: "Why is the sky blue?".')
    deltas = [
        choice["delta"]
        for event in streamed.events or ()
        if not event.raw.startswith(b"data: [DONE]")
        for choice in json.loads(event.raw.removeprefix(b"data: "))["choices"]
    ]
    assert not any("reasoning_content" in delta for delta in deltas)
    assert "".join(delta.get("reasoning") or "" for delta in deltas) == message["reasoning"]
    assert "".join(delta.get("content") or "" for delta in deltas) == message["content"]
