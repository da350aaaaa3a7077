"""Structured output (JSON schema, JSON mode, guided_json), images, and reasoning models.

Schemas are bounded (enums, booleans, ``maxLength``): a model whose output is constrained to the
schema then always reaches the closing brace and finishes with ``stop``, whatever it would like to
say. An unbounded string or integer lets a small model run on to ``max_tokens``.
"""

from __future__ import annotations

from typing import Any

import pytest
from contract_checks import (
    WEATHER_TOOL,
    assert_text_answer,
    assert_usage,
    combine,
    honoured,
    require,
    served_context,
)
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import Runnable

VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "enum": ["yes", "no", "unsure"]},
        "confident": {"type": "boolean"},
        "reason": {"type": "string", "maxLength": 40},
    },
    "required": ["answer", "confident", "reason"],
    "additionalProperties": False,
}
PLACE_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
}
PIXEL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR42mMo28mAFTEMLQkAtvtLwZLdmFQAAAAASUVORK5CYII="
)


def parse(structured: Runnable[Any, Any], prompt: Any, nim_harness_mode: str, asked: str) -> Any:
    """The parsed answer; a real server that ignores or refuses ``asked`` skips the test, naming it."""
    return honoured(lambda: structured.invoke(prompt), nim_harness_mode, asked)


@pytest.mark.nim(cassette="vllm-contract/structured/json_schema")
def test_json_schema(nim_harness_chat, nim_harness_mode) -> None:
    llm = nim_harness_chat(temperature=0, max_tokens=256)
    schema = {"name": "verdict", "parameters": VERDICT_SCHEMA}
    structured = llm.with_structured_output(schema, method="json_schema", strict=True, include_raw=True)
    prompt = "Is the sky blue on a clear day? Reply as JSON."
    result = parse(structured, prompt, nim_harness_mode, "response_format json_schema")
    raw = result["raw"]
    require(
        result["parsing_error"] is None,
        nim_harness_mode,
        f"ignores response_format json_schema: it answered {str(raw.content)[:60]!r}",
    )
    parsed = result["parsed"]
    assert set(parsed) == {"answer", "confident", "reason"}
    assert parsed["answer"] in ("yes", "no", "unsure")
    assert isinstance(parsed["confident"], bool)
    assert isinstance(parsed["reason"], str)
    assert len(parsed["reason"]) <= 40
    assert raw.response_metadata["finish_reason"] == "stop", "a bounded schema ends by itself"
    assert_usage(raw)


@pytest.mark.nim(cassette="structured/json_mode")
def test_json_mode(nim_harness_chat, nim_harness_mode) -> None:
    llm = nim_harness_chat(temperature=0, max_tokens=256)
    structured = llm.with_structured_output(None, method="json_mode")
    prompt = [
        SystemMessage("Reply with a JSON object only."),
        HumanMessage("Give me the RGB values of teal."),
    ]
    result = parse(structured, prompt, nim_harness_mode, "response_format json_object")
    assert isinstance(result, dict)
    assert result


@pytest.mark.nim(cassette="structured/guided_json")
def test_guided_json(nim_harness_chat, nim_harness_mode) -> None:
    llm = nim_harness_chat(temperature=0, max_tokens=256, structured_output_style="guided_json")
    structured = llm.with_structured_output(
        {"name": "place", "parameters": PLACE_SCHEMA}, method="json_schema"
    )
    prompt = "Extract the city and country from: 'I just landed in Lyon, France.'"
    parsed = parse(structured, prompt, nim_harness_mode, "guided_json")
    assert isinstance(parsed["city"], str)
    assert isinstance(parsed["country"], str)


@pytest.mark.nim(cassette="images/base64")
def test_image_as_data_url(nim_harness_chat, nim_harness_mode) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=512)
    message = HumanMessage(
        content=[
            {"type": "text", "text": "What color is this image?"},
            {"type": "image_url", "image_url": {"url": PIXEL}},
        ]
    )
    answer = honoured(lambda: llm.invoke([message]), nim_harness_mode, "an image (data URL)")
    assert_text_answer(answer)
    assert_usage(answer)


@pytest.mark.nim(cassette="images/url")
def test_image_by_url(nim_harness_chat, nim_harness_mode) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=512)
    url = "https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg"
    message = HumanMessage(
        content=[
            {"type": "text", "text": "What animal is in this picture?"},
            {"type": "image_url", "image_url": {"url": url}},
        ]
    )
    assert_text_answer(honoured(lambda: llm.invoke([message]), nim_harness_mode, "an image (https URL)"))


def thinking_budget(nim_harness_chat, model: str) -> int:
    """4096 tokens to think and answer in, or half the served context where the server says it is
    smaller: a reasoning request the server refuses for its length would prove nothing."""
    context = served_context(nim_harness_chat(), model)
    return 4096 if context is None else min(4096, context // 2)


def no_reasoning(model: str) -> str:
    return (
        f"sent no reasoning_content for {model}: no reasoning parser serves it "
        "(not a reasoning model, or the server started without one)"
    )


@pytest.mark.nim(cassette="reasoning/nonstream")
def test_reasoning_is_kept_apart_from_the_answer(
    nim_harness_chat, nim_harness_mode, nim_harness_model
) -> None:
    budget = thinking_budget(nim_harness_chat, nim_harness_model)
    llm = nim_harness_chat(temperature=0.6, top_p=0.95, max_tokens=budget)
    answer = llm.invoke("Which is larger, 9.11 or 9.9?")
    assert_text_answer(answer)
    reasoning = answer.additional_kwargs.get("reasoning_content")
    require(reasoning is not None, nim_harness_mode, no_reasoning(nim_harness_model))
    assert isinstance(reasoning, str)
    assert reasoning.strip()
    assert "<think>" not in answer.content


@pytest.mark.nim(cassette="reasoning/stream")
def test_streamed_reasoning(nim_harness_chat, nim_harness_mode, nim_harness_model) -> None:
    budget = thinking_budget(nim_harness_chat, nim_harness_model)
    llm = nim_harness_chat(temperature=0.6, top_p=0.95, max_tokens=budget)
    answer = combine(list(llm.stream("Is 2027 a prime number?")))
    reasoning = answer.additional_kwargs.get("reasoning_content")
    require(reasoning is not None, nim_harness_mode, no_reasoning(nim_harness_model))
    assert isinstance(reasoning, str)
    assert reasoning.strip()
    assert_text_answer(answer)
    assert_usage(answer)


@pytest.mark.nim(cassette="tools/named")
def test_function_calling(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024)
    structured = llm.with_structured_output(WEATHER_TOOL, method="function_calling")
    parsed = structured.invoke("Check the weather in Berlin for me, in fahrenheit.")
    assert isinstance(parsed, dict)
    assert isinstance(parsed["city"], str)
    assert parsed.get("unit", "celsius") in ("celsius", "fahrenheit")
