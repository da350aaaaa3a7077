"""``on_miss="synthesize"`` over a real socket: ChatNVIDIA and the openai SDK accept every shape.

One uvicorn server per module (ephemeral loopback port) answers misses by synthesizing, with a
small rules file; the bundled ``chat/plain`` cassette is loaded too, to show a hit still replays
the recording and only misses are marked ``x-nim-mock-synthesized: 1``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import jsonschema
import openai
import pytest
from cli_runs import run_cli, serve_process
from hypothesis import HealthCheck, given, settings
from nim_harness import BadRequestError, ChatNVIDIA
from pydantic import BaseModel, Field
from synth_schemas import tool_schemas

from nim_mock import RunningServer, SynthConfig, bundled_cassettes_dir, create_app, load_cassettes
from nim_mock.synth.rules import parse_reply_rules
from nim_mock.synth.tokens import count_tokens

MODEL = "meta/llama-3.1-8b-instruct"
SYNTH = "x-nim-mock-synthesized"
RULES = {
    "rules": [
        {"match": r"capital of (\w+)", "reply": "The capital of \\1 is a fine city.", "flags": "i"},
        {"match": "^json please", "reply": '{"name": "Ada", "born": 1815}'},
    ],
    "default": "Synthesized by {model}.",
}


class Weather(BaseModel):
    """Get the weather for a city."""

    city: str = Field(description="city name")
    unit: Literal["celsius", "fahrenheit"] = "celsius"
    days: int = Field(ge=1, le=7)


class Person(BaseModel):
    name: str
    born: int


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    plain = [c for c in load_cassettes([bundled_cassettes_dir()]) if c.name == "chat/plain"]
    app = create_app(plain, on_miss="synthesize", synth=SynthConfig(rules=parse_reply_rules(RULES)))
    server = RunningServer(app)
    server.start()
    yield server.base_url
    server.stop()


@pytest.fixture
def llm(base_url: str) -> ChatNVIDIA:
    return ChatNVIDIA(model=MODEL, base_url=base_url + "/v1", api_key="not-a-key", max_retries=0)


@pytest.fixture
def sdk(base_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=base_url + "/v1", api_key="not-a-key", max_retries=0, timeout=10.0) as client:
        yield client


# -- ChatNVIDIA ---------------------------------------------------------------------------------


def test_invoke_gets_the_rule_reply_with_usage(llm: ChatNVIDIA) -> None:
    message = llm.invoke("What is the capital of France?")
    assert message.content == "The capital of France is a fine city."
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] == count_tokens(str(message.content)) + 1


def test_stream_reassembles_to_the_same_answer(llm: ChatNVIDIA) -> None:
    chunks = list(llm.stream("Say anything"))
    assert len(chunks) > 3
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk
    assert whole.content == f"Synthesized by {MODEL}."
    assert whole.usage_metadata is not None
    assert whole.usage_metadata["output_tokens"] == llm.invoke("Say anything").usage_metadata["output_tokens"]  # type: ignore[index]


@pytest.mark.parametrize("choice", ["Weather", "any"])
def test_bound_tools_get_valid_arguments(llm: ChatNVIDIA, choice: str) -> None:
    tool_llm = llm.bind_tools([Weather], tool_choice=choice)
    message = tool_llm.invoke("How warm is it in Rome?")
    [call] = message.tool_calls  # type: ignore[attr-defined]
    assert call["name"] == "Weather"
    Weather.model_validate(call["args"])
    assert re.fullmatch(r"chatcmpl-tool-[0-9a-f]{32}", call["id"])
    streamed = None
    for chunk in tool_llm.stream("How warm is it in Rome?"):
        streamed = chunk if streamed is None else streamed + chunk
    assert streamed is not None
    # a streamed request is another request (another id), with the same call in it
    assert [(c["name"], c["args"]) for c in streamed.tool_calls] == [(call["name"], call["args"])]


def test_auto_tool_choice_calls_a_mentioned_tool(llm: ChatNVIDIA) -> None:
    message = llm.bind_tools([Weather]).invoke("what is the weather like?")
    assert [call["name"] for call in message.tool_calls] == ["Weather"]  # type: ignore[attr-defined]
    assert message.response_metadata["finish_reason"] == "tool_calls"
    plain = llm.bind_tools([Weather]).invoke("tell me a joke")
    assert plain.tool_calls == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
def test_with_structured_output_by_schema(llm: ChatNVIDIA, method: Any) -> None:
    result = llm.with_structured_output(Weather, method=method).invoke("weather in Oslo")
    assert isinstance(result, Weather)


def test_with_structured_output_guided_json_style(base_url: str) -> None:
    llm = ChatNVIDIA(
        model=MODEL,
        base_url=base_url + "/v1",
        api_key="k",
        structured_output_style="guided_json",
        max_retries=0,
    )
    assert isinstance(llm.with_structured_output(Weather).invoke("weather in Oslo"), Weather)


def test_with_structured_output_json_mode_uses_a_json_rule(llm: ChatNVIDIA) -> None:
    result = llm.with_structured_output(Person, method="json_mode").invoke("json please: who wrote notes?")
    assert result == Person(name="Ada", born=1815)


def test_max_tokens_and_stop(llm: ChatNVIDIA) -> None:
    cut = llm.invoke("Say anything", max_tokens=2)
    assert cut.content == "Synthesized by"
    assert cut.response_metadata["finish_reason"] == "length"
    stopped = llm.invoke("Say anything", stop=[" by"])
    assert stopped.content == "Synthesized"
    assert stopped.response_metadata["finish_reason"] == "stop"


def test_malformed_request_still_gets_the_nim_400(llm: ChatNVIDIA) -> None:
    with pytest.raises(BadRequestError, match="n"):
        llm.invoke("hi", n=0)


# -- openai SDK ---------------------------------------------------------------------------------


def test_openai_sdk_accepts_chat_stream_n_and_usage(sdk: openai.OpenAI) -> None:
    completion = sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], n=2)
    assert [c.index for c in completion.choices] == [0, 1]
    assert completion.choices[1].message.content == f"Synthesized by {MODEL}."
    assert completion.usage is not None
    assert (
        completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    chunks = list(
        sdk.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
            n=2,
        )
    )
    texts = ["", ""]
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
    assert texts == [completion.choices[0].message.content] * 2
    assert chunks[-1].choices == []
    assert chunks[-1].usage == completion.usage


def test_openai_sdk_parses_tools_and_json_schema(sdk: openai.OpenAI) -> None:
    tools: Any = [
        {"type": "function", "function": {"name": "Weather", "parameters": Weather.model_json_schema()}}
    ]
    completion = sdk.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "x"}], tools=tools, tool_choice="required"
    )
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    Weather.model_validate_json(call.function.arguments)  # type: ignore[union-attr]
    parsed = sdk.chat.completions.parse(
        model=MODEL, messages=[{"role": "user", "content": "x"}], response_format=Weather
    )
    assert isinstance(parsed.choices[0].message.parsed, Weather)
    streamed = list(
        sdk.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "weather?"}], tools=tools, stream=True
        )
    )
    fragments = "".join(
        c.choices[0].delta.tool_calls[0].function.arguments or ""  # type: ignore[index,union-attr]
        for c in streamed
        if c.choices and c.choices[0].delta.tool_calls
    )
    Weather.model_validate_json(fragments)
    assert streamed[-1].choices[0].finish_reason == "tool_calls"


def test_openai_sdk_completions_and_models(sdk: openai.OpenAI) -> None:
    completion = sdk.completions.create(model=MODEL, prompt="capital of Peru", max_tokens=50)
    assert completion.choices[0].text == "The capital of Peru is a fine city."
    streamed = sdk.completions.create(model=MODEL, prompt="capital of Peru", max_tokens=50, stream=True)
    assert "".join(c.choices[0].text for c in streamed if c.choices) == completion.choices[0].text
    ids = [model.id for model in sdk.models.list()]
    assert MODEL in ids
    assert "nvidia/llama-3.3-nemotron-super-49b-v1" in ids


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schema=tool_schemas)
def test_hypothesis_tool_schemas_over_the_wire(sdk: openai.OpenAI, schema: dict[str, Any]) -> None:
    tools: Any = [{"type": "function", "function": {"name": "do_it", "parameters": schema}}]
    response_format: Any = {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}
    called = sdk.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "x"}], tools=tools, tool_choice="required"
    )
    arguments = called.choices[0].message.tool_calls[0].function.arguments  # type: ignore[index,union-attr]
    jsonschema.validate(json.loads(arguments), schema)
    answered = sdk.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "x"}], response_format=response_format
    )
    jsonschema.validate(json.loads(answered.choices[0].message.content or ""), schema)


# -- marking, determinism, bytes ----------------------------------------------------------------


def test_header_marks_synthesized_answers_only(base_url: str) -> None:
    plain = next(c for c in load_cassettes([bundled_cassettes_dir()]) if c.name == "chat/plain")
    recorded = plain.interactions[0].request.body
    with httpx.Client(timeout=10) as http:
        hit = http.post(base_url + "/v1/chat/completions", json=recorded)
        miss = http.post(base_url + "/v1/chat/completions", json={**recorded, "seed": 12345})
        bad = http.post(base_url + "/v1/chat/completions", json={"model": MODEL})
    assert hit.status_code == miss.status_code == 200
    assert SYNTH not in hit.headers
    assert hit.content == plain.interactions[0].response.body
    assert miss.headers[SYNTH] == "1"
    assert bad.status_code == 400
    assert SYNTH not in bad.headers
    assert bad.json()["type"] == "BadRequestError"


def test_log_line_says_synthesized(base_url: str, caplog: pytest.LogCaptureFixture, build: Any) -> None:
    caplog.set_level(logging.INFO, logger="nim_mock")
    with httpx.Client(timeout=10) as http:
        http.post(base_url + "/v1/chat/completions", json=build.chat_body("log me"))
    assert build.wait_for(lambda: any("synthesized" in r.getMessage() for r in caplog.records))
    line = next(r.getMessage() for r in caplog.records if "synthesized" in r.getMessage())
    assert line == "POST /v1/chat/completions 200 synthesized"


_ID = re.compile(rb'"id":"chatcmpl-[0-9a-f]{32}"')
_CREATED = re.compile(rb'"created":(\d+)')


def _stamps_masked(raw: bytes) -> bytes:
    """``raw`` with its response id and ``created`` (new for every response) replaced by markers."""
    return _CREATED.sub(b'"created":0', _ID.sub(b'"id":"chatcmpl-ID"', raw))


def test_same_request_same_answer_with_its_own_id_and_time(base_url: str, build: Any) -> None:
    body = build.chat_body("repeat", stream=True, stream_options={"include_usage": True})
    with httpx.Client(timeout=10) as http:
        before = int(time.time())
        first = http.post(base_url + "/v1/chat/completions", json=body).content
        second = http.post(base_url + "/v1/chat/completions", json=body).content
        after = int(time.time())
    assert _stamps_masked(first) == _stamps_masked(second)
    ids = {found.group() for raw in (first, second) for found in _ID.finditer(raw)}
    assert len(ids) == 2  # one id per response, repeated in each of its chunks
    stamps = {int(found.group(1)) for found in _CREATED.finditer(first + second)}
    assert stamps <= set(range(before, after + 1))


def test_stream_byte_layout(base_url: str, build: Any, snapshot: Any) -> None:
    body = build.chat_body(
        "capital of Chile", stream=True, stream_options={"include_usage": True}, max_tokens=6
    )
    with (
        httpx.Client(timeout=10) as http,
        http.stream("POST", base_url + "/v1/chat/completions", json=body) as r,
    ):
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
        raw = b"".join(r.iter_bytes())
    assert _stamps_masked(raw).decode("utf-8") == snapshot


def test_pacing_follows_rate_and_ttft(build: Any) -> None:
    app = create_app([], speed=1.0, on_miss="synthesize", synth=SynthConfig(tokens_per_s=40, ttft_ms=150))
    server = RunningServer(app)
    server.start()
    try:
        with httpx.Client(timeout=10) as http:
            started = time.monotonic()
            with http.stream(
                "POST", server.base_url + "/v1/chat/completions", json=build.chat_body(stream=True)
            ) as r:
                stamps = [time.monotonic() - started for _ in r.iter_raw()]
    finally:
        server.stop()
    assert stamps[0] > 0.1  # the first token waits for the TTFT
    assert stamps[-1] - stamps[0] > 0.2  # ~16 tokens at 40/s are spread out, not sent at once


# -- CLI ----------------------------------------------------------------------------------------


def test_cli_bad_rules_file_exits_2_naming_it(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text('{"rules": [{"match": "(unclosed", "reply": "x"}]}')
    run = run_cli(["serve", "--port", "0", "--on-miss", "synthesize", "--rules", str(rules)])
    assert run.code == 2
    assert f"rules file {rules}: rules[0].match: is not a valid regex" in run.err
    assert "Traceback" not in run.err
    assert run_cli(["serve", "--port", "0", "--rules", str(rules)]).code == 2


def test_cli_serves_synthesized_answers_from_a_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    pinned = {"match": r"weather in (\w+)", "tool": "get_weather", "arguments": {"city": "\\1", "days": 2}}
    rules.write_text(json.dumps({"rules": [{"match": "ping", "reply": "pong"}, pinned]}))
    (tmp_path / "cassettes").mkdir()
    args = ["--cassettes", str(tmp_path / "cassettes"), "--on-miss", "synthesize", "--rules", str(rules)]
    with serve_process(args) as served:
        assert "synthesizing on a miss" in served.banner
        with httpx.Client(timeout=10) as http:
            answer = http.post(
                served.base_url + "/chat/completions",
                json={"messages": [{"role": "user", "content": "ping"}]},
            )
            tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
            called = http.post(
                served.base_url + "/chat/completions",
                json={"messages": [{"role": "user", "content": "the weather in Oslo"}], "tools": [tool]},
            )
        assert answer.json()["choices"][0]["message"]["content"] == "pong"
        assert answer.json()["model"] == MODEL
        [call] = called.json()["choices"][0]["message"]["tool_calls"]
        assert json.loads(call["function"]["arguments"]) == {"city": "Oslo", "days": 2}
    assert "POST /v1/chat/completions 200 synthesized" in served.err
