"""What ChatNVIDIA puts on the wire, pinned by JSON snapshots for every feature.

Each body is the one the mock transport received, so the snapshot shows exactly what a NIM
would see. Review every ``--snapshot-update`` diff like code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chat_fakes import completion, llm, router, sent_json, sse_response, text_stream
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import tool
from nim_harness import ChatNVIDIA
from nim_harness._payload import build, merge_params
from structured_schemas import Colour, Movie, Person
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

PNG = "iVBORw0KGgo="


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return city


@tool
def get_time(zone: str) -> str:
    """Get the time in a zone."""
    return zone


def sent(
    make: Callable[[ChatNVIDIA], Runnable[LanguageModelInput, Any]],
    prompt: LanguageModelInput = "Hi",
    *,
    answer: dict[str, Any] | None = None,
    stream: bool = False,
    **fields: Any,
) -> Any:
    """The JSON body one call sends (the answer is whatever parses for the runnable)."""
    with router() as mock:
        route = mock.post("/chat/completions")
        route.respond(200, json=answer or completion('{"name": "a", "age": 1}'))
        runnable = make(llm(mock, **fields))
        if stream:
            route.mock(return_value=sse_response(text_stream("x")))
            list(runnable.stream(prompt))
        else:
            runnable.invoke(prompt)
        assert mock.calls.call_count == 1
    return sent_json(mock)


def plain(model: ChatNVIDIA) -> ChatNVIDIA:
    return model


def test_plain(snapshot_json: SnapshotAssertion) -> None:
    assert sent(plain) == snapshot_json


def test_all_sampling_fields(snapshot_json: SnapshotAssertion) -> None:
    fields = {
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 64,
        "seed": 7,
        "stop": ["\n\n"],
        "n": 1,
        "logprobs": True,
        "top_logprobs": 2,
        "model_kwargs": {"top_k": 40, "nvext": {"repetition_penalty": 1.1}},
    }
    assert sent(plain, **fields) == snapshot_json


def test_call_kwargs_override_fields_and_none_unsets(snapshot_json: SnapshotAssertion) -> None:
    body = sent(lambda m: m.bind(temperature=0.9, seed=None), temperature=0.1, seed=3)
    assert body == snapshot_json


def test_stream(snapshot_json: SnapshotAssertion) -> None:
    assert sent(plain, stream=True) == snapshot_json


def test_stream_without_usage(snapshot_json: SnapshotAssertion) -> None:
    assert sent(plain, stream=True, stream_usage=False) == snapshot_json


def test_conversation_with_tool_calls(snapshot_json: SnapshotAssertion) -> None:
    history = [
        SystemMessage("Be brief."),
        HumanMessage("Weather in Paris?", name="alice"),
        AIMessage(
            "",
            tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call-1"}],
            invalid_tool_calls=[{"name": "get_time", "args": "{oops", "id": "call-2", "error": "bad"}],
            additional_kwargs={"reasoning_content": "not replayed"},
        ),
        ToolMessage("sunny", tool_call_id="call-1"),
        ToolMessage([{"type": "text", "text": "12:00"}], tool_call_id="call-2"),
    ]
    assert sent(plain, history) == snapshot_json


def test_image_blocks(snapshot_json: SnapshotAssertion) -> None:
    content: list[str | dict[str, Any]] = [
        "What is in these?",
        {"type": "image_url", "image_url": {"url": "https://example.org/a.png", "detail": "low"}},
        {"type": "image_url", "image_url": f"data:image/png;base64,{PNG}"},
        {"type": "image", "url": "https://example.org/b.jpg"},
        {"type": "image", "base64": PNG, "mime_type": "image/png"},
        {"type": "image", "source_type": "base64", "data": PNG, "mime_type": "image/jpeg"},
        {"type": "image", "source_type": "url", "url": "https://example.org/c.gif"},
    ]
    assert sent(plain, [HumanMessage(content=content)]) == snapshot_json


def test_inline_img_tag_passes_through(snapshot_json: SnapshotAssertion) -> None:
    prompt = f'Describe <img src="data:image/png;base64,{PNG}" />'
    assert sent(plain, prompt) == snapshot_json


@pytest.mark.parametrize(
    "choice",
    [
        None,
        "auto",
        "none",
        "required",
        "any",
        True,
        False,
        "get_time",
        {"type": "function", "function": {"name": "get_weather"}},
    ],
    ids=["unset", "auto", "none", "required", "any", "true", "false", "name", "dict"],
)
def test_bind_tools_choice(choice: Any, snapshot_json: SnapshotAssertion) -> None:
    body = sent(lambda m: m.bind_tools([get_weather, get_time], tool_choice=choice))
    assert body == snapshot_json


def test_bind_tools_parallel_and_strict(snapshot_json: SnapshotAssertion) -> None:
    body = sent(lambda m: m.bind_tools([Person], parallel_tool_calls=False, strict=True))
    assert body == snapshot_json


SCHEMAS: dict[str, Any] = {
    "pydantic": Person,
    "typeddict": Movie,
    "jsonschema": {
        "title": "Pet",
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
    },
    "enum": Colour,
}
ANSWERS: dict[str, str] = {
    "pydantic": '{"name": "a", "age": 1}',
    "typeddict": '{"title": "x", "year": 1}',
    "jsonschema": '{"name": "Rex"}',
    "enum": '"red"',
}


def _tool_answer(kind: str) -> dict[str, Any]:
    name = {"pydantic": "Person", "typeddict": "Movie", "jsonschema": "Pet", "enum": "Colour"}[kind]
    args = '{"value": "red"}' if kind == "enum" else ANSWERS[kind]
    call = {"id": "c1", "type": "function", "function": {"name": name, "arguments": args}}
    return completion(None, tool_calls=[call], finish_reason="tool_calls")


@pytest.mark.parametrize("kind", list(SCHEMAS))
@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
def test_structured_output(kind: str, method: str, snapshot_json: SnapshotAssertion) -> None:
    answer = _tool_answer(kind) if method == "function_calling" else completion(ANSWERS[kind])
    body = sent(lambda m: m.with_structured_output(SCHEMAS[kind], method=method), answer=answer)  # type: ignore[arg-type]
    assert body == snapshot_json


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_structured_output_guided_json(kind: str, snapshot_json: SnapshotAssertion) -> None:
    answer = completion("red" if kind == "enum" else ANSWERS[kind])
    body = sent(
        lambda m: m.with_structured_output(SCHEMAS[kind], method="json_schema"),
        answer=answer,
        structured_output_style="guided_json",
    )
    assert body == snapshot_json


def test_structured_output_strict(snapshot_json: SnapshotAssertion) -> None:
    body = sent(lambda m: m.with_structured_output(Person, method="json_schema", strict=True))
    assert body == snapshot_json


@pytest.mark.parametrize(
    ("model", "enabled", "system"),
    [
        ("nvidia/nemotron-3-nano-30b-a3b", True, None),
        ("nvidia/nemotron-3-nano-30b-a3b", False, None),
        ("nvidia/llama-3.3-nemotron-super-49b-v1", True, None),
        ("nvidia/llama-3.3-nemotron-super-49b-v1", False, "You are terse."),
        ("nvidia/llama-3.3-nemotron-super-49b-v1.5", True, "You are terse."),
    ],
    ids=["param-on", "param-off", "prefix-on-new-system", "prefix-off-existing-system", "slash-on"],
)
def test_thinking_mode(
    model: str, enabled: bool, system: str | None, snapshot_json: SnapshotAssertion
) -> None:
    prompt = [SystemMessage(system), HumanMessage("2+2?")] if system else [HumanMessage("2+2?")]
    body = sent(lambda m: m.with_thinking_mode(enabled), prompt, model=model)
    assert body == snapshot_json


def test_thinking_param_keeps_caller_template_kwargs(snapshot_json: SnapshotAssertion) -> None:
    body = sent(
        lambda m: m.with_thinking_mode(True),
        model="nvidia/nemotron-3-nano-30b-a3b",
        model_kwargs={"chat_template_kwargs": {"custom": 1}},
    )
    assert body == snapshot_json


def test_thinking_mode_field(snapshot_json: SnapshotAssertion) -> None:
    assert sent(plain, model="nvidia/nvidia-nemotron-nano-9b-v2", thinking_mode=False) == snapshot_json


def test_build_refuses_reserved_keys_and_empty_messages() -> None:
    with pytest.raises(ValueError, match="stream"):
        build([HumanMessage("x")], model="m", params={"stream": True}, stream=False)
    with pytest.raises(ValueError, match="at least one message"):
        build([], model="m", params={}, stream=False)


def test_merge_params_later_wins_and_none_unsets() -> None:
    assert merge_params({"a": 1, "b": 2}, {"b": 3}, {"a": None}) == {"b": 3}


def test_build_does_not_touch_the_callers_messages() -> None:
    from nim_harness._catalogue import lookup

    control = lookup("nvidia/llama-3.3-nemotron-super-49b-v1")
    assert control is not None
    assert control.thinking is not None
    messages = [SystemMessage("keep me"), HumanMessage("x")]
    body = build(messages, model="m", params={}, stream=False, thinking=(control.thinking, True))
    assert body["messages"][0]["content"] == "keep me\ndetailed thinking on"
    assert messages[0].content == "keep me"
