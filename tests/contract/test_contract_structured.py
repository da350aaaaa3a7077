"""Structured output (JSON schema, JSON mode, guided_json), images, and reasoning models."""

from __future__ import annotations

from typing import Any

import pytest
from contract_checks import WEATHER_TOOL, assert_text_answer, assert_usage, combine, require
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from nim_harness import BadRequestError

# Given as {name, parameters}: the name goes to json_schema.name, the schema is sent as written.
AUTHOR_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "born": {"type": "integer"}, "field": {"type": "string"}},
    "required": ["name", "born", "field"],
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
    try:
        return structured.invoke(prompt)
    except OutputParserException as error:
        require(False, nim_harness_mode, f"ignores {asked}: it answered {str(error.llm_output)[:60]!r}")
    except BadRequestError as error:
        require(False, nim_harness_mode, f"refuses {asked}: {error.message[:100]}")
    raise AssertionError("unreachable: require() fails or skips")


@pytest.mark.nim(cassette="structured/json_schema")
def test_json_schema(nim_harness_chat, nim_harness_mode) -> None:
    llm = nim_harness_chat(temperature=0, max_tokens=1024)
    schema = {"name": "response", "parameters": AUTHOR_SCHEMA}
    structured = llm.with_structured_output(schema, method="json_schema", strict=True)
    prompt = "Who wrote the first published computer program? Reply as JSON."
    parsed = parse(structured, prompt, nim_harness_mode, "response_format json_schema")
    assert set(parsed) == {"name", "born", "field"}
    assert isinstance(parsed["name"], str)
    assert isinstance(parsed["born"], int)
    assert isinstance(parsed["field"], str)


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
def test_image_as_data_url(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=512)
    message = HumanMessage(
        content=[
            {"type": "text", "text": "What color is this image?"},
            {"type": "image_url", "image_url": {"url": PIXEL}},
        ]
    )
    answer = llm.invoke([message])
    assert_text_answer(answer)
    assert_usage(answer)


@pytest.mark.nim(cassette="images/url")
def test_image_by_url(nim_harness_chat) -> None:
    llm = nim_harness_chat(temperature=0.2, max_tokens=512)
    url = "https://upload.wikimedia.org/wikipedia/commons/3/3a/Cat03.jpg"
    message = HumanMessage(
        content=[
            {"type": "text", "text": "What animal is in this picture?"},
            {"type": "image_url", "image_url": {"url": url}},
        ]
    )
    assert_text_answer(llm.invoke([message]))


@pytest.mark.nim(cassette="reasoning/nonstream")
def test_reasoning_is_kept_apart_from_the_answer(
    nim_harness_chat, nim_harness_mode, nim_harness_model
) -> None:
    llm = nim_harness_chat(temperature=0.6, top_p=0.95, max_tokens=4096)
    answer = llm.invoke("Which is larger, 9.11 or 9.9?")
    assert_text_answer(answer)
    reasoning = answer.additional_kwargs.get("reasoning_content")
    require(
        reasoning is not None,
        nim_harness_mode,
        f"sent no reasoning for {nim_harness_model} (not a reasoning model?)",
    )
    assert isinstance(reasoning, str)
    assert reasoning.strip()
    assert "<think>" not in answer.content


@pytest.mark.nim(cassette="reasoning/stream")
def test_streamed_reasoning(nim_harness_chat, nim_harness_mode, nim_harness_model) -> None:
    llm = nim_harness_chat(temperature=0.6, top_p=0.95, max_tokens=4096)
    chunks = list(llm.stream("Is 2027 a prime number?"))
    answer = combine(chunks)
    reasoning = answer.additional_kwargs.get("reasoning_content")
    require(
        reasoning is not None,
        nim_harness_mode,
        f"streamed no reasoning for {nim_harness_model} (not a reasoning model?)",
    )
    assert isinstance(answer.additional_kwargs.get("reasoning_content"), str)
    assert answer.additional_kwargs["reasoning_content"].strip()
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
