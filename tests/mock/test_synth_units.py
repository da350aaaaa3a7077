"""The synthesizer's pure parts: tokenizer, regex strings, JSON-schema instances, rules, answers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synth_schemas import schemas, tool_schemas

from nim_mock import create_app
from nim_mock.cassette import RecordedResponse
from nim_mock.synth.regex import RegexUnsupported, string_matching
from nim_mock.synth.rules import DEFAULT_REPLY, ReplyRulesError, load_reply_rules, parse_reply_rules
from nim_mock.synth.schema import SchemaUnsupported, instance_for
from nim_mock.synth.synthesize import SynthConfig, synthesize
from nim_mock.synth.tokens import count_tokens, tokens
from nim_mock.wire.errors import Problem

MODEL = "meta/llama-3.1-8b-instruct"
VALIDATOR = jsonschema.Draft202012Validator


def validate(instance: Any, schema: Any) -> None:
    VALIDATOR(schema, format_checker=VALIDATOR.FORMAT_CHECKER).validate(instance)


# -- tokens --------------------------------------------------------------------------------------


@given(st.text())
def test_tokens_round_trip(text: str) -> None:
    parts = tokens(text)
    assert "".join(parts) == text
    assert all(parts)
    assert count_tokens(text) == len(parts)


def test_tokens_are_words_and_marks_with_leading_space() -> None:
    assert tokens('Hi, "Bob"!  ok\n') == ["Hi", ",", ' "', "Bob", '"', "!", "  ok\n"]


# -- regex strings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        r"^[A-Z]{3}-\d{2}$",
        r"^(red|green|blue)$",
        r"[^a-z]+x?",
        r"^\w+@\w+\.com$",
        r"(?P<year>\d{4})-(?:0[1-9]|1[0-2])",
        r"^\S\s\D\W.$",
        r"a{2,}b*c+?",
    ],
)
def test_regex_string_matches(pattern: str) -> None:
    assert re.search(pattern, string_matching(pattern))


@pytest.mark.parametrize("pattern", [r"(?=a)b", r"(a)\1", r"[", r"\p{L}"])
def test_regex_outside_the_subset_is_refused_not_guessed(pattern: str) -> None:
    with pytest.raises(RegexUnsupported):
        string_matching(pattern)


# -- schema instances ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(schemas)
def test_schema_instance_validates(schema: dict[str, Any]) -> None:
    instance = instance_for(schema)
    validate(instance, schema)
    assert instance_for(schema) == instance  # deterministic


@settings(max_examples=100, deadline=None)
@given(tool_schemas)
def test_tool_parameters_instance_validates(schema: dict[str, Any]) -> None:
    validate(instance_for(schema, name="tool"), schema)


def test_schema_keywords_each_honoured() -> None:
    schema = {
        "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}},
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 3, "uniqueItems": True},
            "code": {"type": "string", "pattern": r"^[A-Z]{2}\d$"},
            "point": {"$ref": "#/$defs/Point"},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 7}]},
            "pick": {"oneOf": [{"type": "integer"}, {"type": "number"}]},
            "both": {"allOf": [{"type": "integer", "minimum": 3}, {"maximum": 5, "multipleOf": 2}]},
            "fixed": {"const": "v1"},
        },
        "required": ["when", "tags", "code", "point", "maybe", "pick", "both", "fixed"],
        "additionalProperties": False,
    }
    instance = instance_for(schema)
    validate(instance, schema)
    assert instance["tags"] == ["a", "b", "c"]
    assert instance["maybe"] == 7
    assert instance["both"] == 4
    assert instance["fixed"] == "v1"


def test_recursive_schema_stays_finite() -> None:
    tree = {"$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}}}
    tree["$ref"] = "#/$defs/Node"
    validate(instance_for(tree), tree)


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        (False, "accepts no value"),
        ({"$ref": "https://example.com/s.json"}, "only local $ref"),
        ({"$ref": "#/$defs/Missing"}, "points at nothing"),
        ({"type": "integer", "minimum": 5, "maximum": 6, "multipleOf": 10}, "no integer fits"),
        ({"allOf": [{"type": "string"}, {"type": "integer"}]}, "at once"),
        (
            {"allOf": [{"additionalProperties": False}, {"properties": {"a": {}}, "required": ["a"]}]},
            "forbid required properties",
        ),
    ],
)
def test_unsatisfiable_schema_says_why(schema: Any, reason: str) -> None:
    with pytest.raises(SchemaUnsupported, match=re.escape(reason)):
        instance_for(schema)


# -- rules ---------------------------------------------------------------------------------------


def test_rules_pick_first_match_expand_groups_and_name_the_model(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(
        json.dumps(
            {
                "rules": [
                    {
                        "match": "weather in (?P<city>\\w+)",
                        "reply": "Sunny in \\g<city> ({model}).",
                        "flags": "i",
                    },
                    {"match": "book", "tool": "book_flight", "reply": "No booking tool."},
                ],
                "default": "Default from {model}.",
            }
        )
    )
    rules = load_reply_rules(path)
    assert rules.reply_for("WEATHER IN Oslo?", MODEL) == (f"Sunny in Oslo ({MODEL}).", None)
    assert rules.reply_for("book me", MODEL, ["book_flight"]) == ("", "book_flight")
    assert rules.reply_for("book me", MODEL) == ("No booking tool.", None)
    assert rules.reply_for("nothing", "m") == ("Default from m.", None)
    assert parse_reply_rules({}).reply_for("x", "m") == (DEFAULT_REPLY.replace("{model}", "m"), None)


@pytest.mark.parametrize(
    ("content", "where", "problem"),
    [
        ("{not json", "", "is not valid JSON"),
        ("[]", "", "must be a JSON object"),
        ('{"rule": []}', "rule", "unknown key"),
        ('{"rules": {}}', "rules", "must be a list"),
        ('{"rules": [{"reply": "x"}]}', "rules[0].match", "missing or not a string"),
        ('{"rules": [{"match": "("}]}', "rules[0].match", "not a valid regex"),
        ('{"rules": [{"match": "a"}]}', "rules[0]", "needs a 'reply'"),
        ('{"rules": [{"match": "a", "reply": "\\\\2"}]}', "rules[0].reply", "bad group reference"),
        ('{"rules": [{"match": "a", "reply": "x", "flags": "q"}]}', "rules[0].flags", "must be a string of"),
        ('{"default": 3}', "default", "must be a string"),
    ],
)
def test_bad_rules_file_names_file_spot_and_fix(
    tmp_path: Path, content: str, where: str, problem: str
) -> None:
    path = tmp_path / "bad-rules.json"
    path.write_text(content)
    with pytest.raises(ReplyRulesError) as caught:
        load_reply_rules(path)
    assert caught.value.where == where
    assert problem in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_rules_file() -> None:
    with pytest.raises(ReplyRulesError, match="no such file"):
        load_reply_rules(Path("/nonexistent/rules.json"))


# -- answers (pure) ------------------------------------------------------------------------------


def _answer(body: dict[str, Any], config: SynthConfig | None = None, *, chat: bool = True) -> dict[str, Any]:
    result = synthesize(body, config or SynthConfig(), chat=chat)
    assert isinstance(result, RecordedResponse)
    assert not result.streamed
    return json.loads(result.body)


def _chat(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "Tell me about the weather"}], **extra}


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40))
def test_max_tokens_cuts_with_length(limit: int) -> None:
    body = _answer(_chat(max_tokens=limit))
    choice = body["choices"][0]
    used = body["usage"]["completion_tokens"]
    assert used <= limit
    full = _answer(_chat())["choices"][0]["message"]["content"]
    if count_tokens(full) >= limit:
        assert choice["finish_reason"] == "length"
        assert choice["message"]["content"] == "".join(tokens(full)[:limit])
    else:
        assert choice["finish_reason"] == "stop"


def test_stop_string_cuts_with_stop_reason() -> None:
    choice = _answer(_chat(stop=["reply", "synthesized"]))["choices"][0]
    assert choice["message"]["content"] == "This is a "
    assert (choice["finish_reason"], choice["stop_reason"]) == ("stop", "synthesized")


def test_usage_adds_up_over_n_choices() -> None:
    body = _answer(_chat(n=3))
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] == 3 * (count_tokens(body["choices"][0]["message"]["content"]) + 1)


@settings(max_examples=60, deadline=None)
@given(tool_schemas, st.sampled_from(["required", "named", "auto"]))
def test_tool_call_arguments_validate(schema: dict[str, Any], choice: str) -> None:
    tools = [
        {"type": "function", "function": {"name": "other", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "lookup_thing", "parameters": schema}},
    ]
    tool_choice: Any = (
        choice if choice != "named" else {"type": "function", "function": {"name": "lookup_thing"}}
    )
    body = _chat(tools=tools, tool_choice=tool_choice)
    body["messages"][0]["content"] = "please lookup_thing now"
    message_choice = _answer(body)["choices"][0]
    call = message_choice["message"]["tool_calls"][0]
    assert re.fullmatch(r"chatcmpl-tool-[0-9a-f]{32}", call["id"])
    assert call["function"]["name"] == "lookup_thing"
    validate(json.loads(call["function"]["arguments"]), schema)
    assert message_choice["finish_reason"] == ("tool_calls" if choice == "auto" else "stop")


@settings(max_examples=60, deadline=None)
@given(schemas, st.sampled_from(["response_format", "guided_json", "nvext"]))
def test_structured_content_validates(schema: dict[str, Any], style: str) -> None:
    extra: dict[str, Any] = {
        "response_format": {
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}
        },
        "guided_json": {"guided_json": schema},
        "nvext": {"nvext": {"guided_json": schema}},
    }[style]
    content = _answer(_chat(**extra))["choices"][0]["message"]["content"]
    validate(json.loads(content), schema)


def test_json_mode_gives_an_object_and_guided_choice_a_choice() -> None:
    content = _answer(_chat(response_format={"type": "json_object"}))["choices"][0]["message"]["content"]
    assert isinstance(json.loads(content), dict)
    config = SynthConfig(
        rules=parse_reply_rules({"rules": [{"match": "weather", "reply": '{"sky": "blue"}'}]})
    )
    content = _answer(_chat(response_format={"type": "json_object"}), config)["choices"][0]["message"][
        "content"
    ]
    assert json.loads(content) == {"sky": "blue"}
    assert _answer(_chat(guided_choice=["yes", "no"]))["choices"][0]["message"]["content"] == "yes"


def test_auto_tool_choice_heuristic() -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    called = _answer(_chat(tools=tools))["choices"][0]
    assert called["message"]["content"] is None
    assert called["finish_reason"] == "tool_calls"
    after = _chat(tools=tools)
    after["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": []},
        {"role": "tool", "tool_call_id": "x", "content": "sunny"},
    ]
    assert _answer(after)["choices"][0]["message"]["tool_calls"] == []
    assert _answer(_chat(tools=tools, tool_choice="none"))["choices"][0]["message"]["tool_calls"] == []


def test_completions_default_to_sixteen_tokens() -> None:
    body = _answer({"model": MODEL, "prompt": "Once upon a time"}, chat=False)
    assert body["object"] == "text_completion"
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 16


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_chat(n=0), "'n' must be between"),
        (_chat(max_tokens=0), "max_tokens must be at least 1"),
        (_chat(max_tokens="5"), "'max_tokens' must be an integer"),
        (_chat(stop=[1]), "'stop' must be a string"),
        (_chat(stream_options={"include_usage": True}), "only be defined when `stream=True`"),
        (_chat(tools={}), "'tools' must be a list"),
        (_chat(tool_choice="required"), "needs at least one tool"),
        (
            _chat(
                tools=[{"type": "function", "function": {"name": "a"}}],
                tool_choice={"function": {"name": "b"}},
            ),
            "Tool 'b'",
        ),
        (_chat(response_format={"type": "xml"}), "'response_format' type"),
        (_chat(guided_json={"$ref": "#/nowhere"}), "cannot synthesize"),
        (_chat(model=3), "'model' must be"),
        ({"model": MODEL, "messages": ["hi"]}, "messages[0]"),
    ],
)
def test_bad_fields_get_a_400_naming_them(body: dict[str, Any], message: str) -> None:
    result = synthesize(body, SynthConfig(), chat=True)
    assert isinstance(result, Problem)
    assert result.status == 400
    assert message in result.message


def test_created_is_the_request_time_and_every_id_is_new() -> None:
    ids = iter(f"{n:032x}" for n in range(1, 100))
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    body = _chat(tools=tools, n=2)
    result = synthesize(body, SynthConfig(), chat=True, now=lambda: 1_800_000_000.7, new_id=lambda: next(ids))
    assert isinstance(result, RecordedResponse)
    answer = json.loads(result.body or b"")
    assert answer["created"] == 1_800_000_000
    call_ids = [c["message"]["tool_calls"][0]["id"] for c in answer["choices"]]
    assert call_ids == [f"chatcmpl-tool-{1:032x}", f"chatcmpl-tool-{2:032x}"]
    assert answer["id"] == f"chatcmpl-{3:032x}"


def test_same_request_same_answer_but_new_ids() -> None:
    first, again = (_answer(_chat()) for _ in range(2))
    assert first["id"] != again["id"]
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", first["id"])
    assert {**first, "id": "", "created": 0} == {**again, "id": "", "created": 0}


def test_stream_pace_comes_from_ttft_and_rate() -> None:
    result = synthesize(_chat(stream=True), SynthConfig(tokens_per_s=10, ttft_ms=300), chat=True)
    assert isinstance(result, RecordedResponse)
    assert result.events is not None
    times = [event.t_ms for event in result.events]
    assert times[:2] == [300, 300]
    assert times[2] == pytest.approx(400)
    assert times == sorted(times)


def test_create_app_checks_its_synth_settings() -> None:
    with pytest.raises(ValueError, match="on_miss must be"):
        create_app([], on_miss="invent")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only apply with on_miss='synthesize'"):
        create_app([], synth=SynthConfig())
    with pytest.raises(ValueError, match="tokens_per_s"):
        SynthConfig(tokens_per_s=0)
    with pytest.raises(ValueError, match="ttft_ms"):
        SynthConfig(ttft_ms=-1)


def test_completions_stream_interleaves_choices_then_usage() -> None:
    body = {"model": MODEL, "prompt": "hi", "n": 2, "max_tokens": 3, "stream": True}
    body["stream_options"] = {"include_usage": True}
    result = synthesize(body, SynthConfig(), chat=False)
    assert isinstance(result, RecordedResponse)
    assert result.events is not None
    raws = [event.raw for event in result.events]
    assert raws[-1] == b"data: [DONE]\n\n"
    chunks = [json.loads(raw.removeprefix(b"data: ")) for raw in raws[:-1]]
    assert [c["choices"][0]["index"] for c in chunks[:-1]] == [0, 1, 0, 1, 0, 1]
    assert all(c["usage"] is None and c["object"] == "text_completion" for c in chunks[:-1])
    assert [c["choices"][0]["finish_reason"] for c in chunks[-3:-1]] == ["length", "length"]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 6
