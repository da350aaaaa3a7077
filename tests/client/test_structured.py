"""with_structured_output: every method and schema kind parses, include_raw, one request per call."""

from __future__ import annotations

from typing import Any

import pytest
from chat_fakes import completion, llm, router, sse_response, text_stream
from nim_harness import BadRequestError
from structured_schemas import Colour, Movie, Person

PET = {"title": "Pet", "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}

CASES: list[tuple[Any, str, Any]] = [
    (Person, '{"name": "Ada", "age": 36}', Person(name="Ada", age=36)),
    (Movie, '{"title": "Up", "year": 2009}', {"title": "Up", "year": 2009}),
    (PET, '{"name": "Rex"}', {"name": "Rex"}),
    (Colour, '"green"', Colour.GREEN),
]
IDS = ["pydantic", "typeddict", "jsonschema", "enum"]


def _tool_answer(name: str, arguments: str) -> dict[str, Any]:
    call = {"id": "c1", "type": "function", "function": {"name": name, "arguments": arguments}}
    return completion(None, tool_calls=[call], finish_reason="tool_calls")


@pytest.mark.parametrize(("schema", "answer", "expected"), CASES, ids=IDS)
@pytest.mark.parametrize("method", ["json_schema", "json_mode"])
def test_content_methods_parse(schema: Any, answer: str, expected: Any, method: str) -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion(answer))
        result = llm(mock).with_structured_output(schema, method=method).invoke("x")  # type: ignore[arg-type]
        assert mock.calls.call_count == 1
    assert result == expected


@pytest.mark.parametrize(("schema", "answer", "expected"), CASES, ids=IDS)
def test_function_calling_parses(schema: Any, answer: str, expected: Any) -> None:
    name = schema["title"] if isinstance(schema, dict) else schema.__name__
    arguments = '{"value": "green"}' if schema is Colour else answer
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=_tool_answer(name, arguments))
        result = llm(mock).with_structured_output(schema, method="function_calling").invoke("x")
        assert mock.calls.call_count == 1
    assert result == expected


def test_guided_choice_answer_is_a_bare_word() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion("red"))
        model = llm(mock, structured_output_style="guided_json")
        assert model.with_structured_output(Colour).invoke("x") is Colour.RED


def test_json_in_a_markdown_fence_still_parses() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(
            200, json=completion('```json\n{"name": "Ada", "age": 1}\n```')
        )
        assert llm(mock).with_structured_output(Person).invoke("x") == Person(name="Ada", age=1)


def test_include_raw_success() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion('{"name": "Ada", "age": 36}'))
        result = llm(mock).with_structured_output(Person, include_raw=True).invoke("x")
    assert result["parsed"] == Person(name="Ada", age=36)
    assert result["parsing_error"] is None
    assert result["raw"].content == '{"name": "Ada", "age": 36}'


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
def test_include_raw_failure_keeps_the_raw_answer(method: str) -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion("I'd rather not."))
        result = llm(mock).with_structured_output(Person, method=method, include_raw=True).invoke("x")  # type: ignore[arg-type]
        assert mock.calls.call_count == 1
    assert result["parsed"] is None
    assert result["parsing_error"] is not None
    assert result["raw"].content == "I'd rather not."


def test_without_include_raw_a_bad_answer_raises() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion('{"name": "Ada"}'))
        with pytest.raises(Exception, match="age"):
            llm(mock).with_structured_output(Person).invoke("x")


def test_enum_outside_the_choices_says_which() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion('"blue"'))
        with pytest.raises(ValueError, match="not one of"):
            llm(mock).with_structured_output(Colour).invoke("x")


def test_server_refusal_is_not_retried_in_another_style() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(
            400, json={"object": "error", "message": "no json_schema", "type": "BadRequestError", "code": 400}
        )
        with pytest.raises(BadRequestError):
            llm(mock).with_structured_output(Person).invoke("x")
        assert mock.calls.call_count == 1


async def test_async_structured_output() -> None:
    with router() as mock:
        mock.post("/chat/completions").respond(200, json=completion('{"title": "Up", "year": 2009}'))
        result = await llm(mock).with_structured_output(Movie, include_raw=True).ainvoke("x")
    assert result["parsed"] == {"title": "Up", "year": 2009}


def test_streamed_structured_output_parses_the_whole_answer() -> None:
    with router() as mock:
        mock.post("/chat/completions").mock(return_value=sse_response(text_stream('{"name": ', '"Rex"}')))
        parts = list(llm(mock).with_structured_output(PET).stream("x"))
    assert parts[-1] == {"name": "Rex"}


def test_bad_method_and_schema_are_explained() -> None:
    with router() as mock:
        model = llm(mock)
    with pytest.raises(ValueError, match="method='xml'"):
        model.with_structured_output(Person, method="xml")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected arguments"):
        model.with_structured_output(Person, foo=1)
    with pytest.raises(ValueError, match="output schema"):
        model.with_structured_output(42, method="json_schema")  # type: ignore[arg-type]
