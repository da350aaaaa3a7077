"""Stand-in answers stay within bounds: malformed schemas are refused by keyword, impossible ones by
the check of what was made, oversized ones by the limit they pass, and what ``max_tokens`` keeps is
all that is made. The checker agrees with the ``jsonschema`` package on the schemas drawn here."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import json_values
from synth_schemas import schemas

from nim_mock.synth.budget import MAX_ANSWER_TOKENS, MAX_CONTENT_CHARS, MAX_SCHEMA_STEPS, Budget
from nim_mock.synth.keywords import schema_problem
from nim_mock.synth.regex import RegexUnsupported, string_matching
from nim_mock.synth.rules import parse_reply_rules
from nim_mock.synth.schema import SchemaUnsupported, instance_for
from nim_mock.synth.synthesize import SynthConfig, synthesize
from nim_mock.synth.tokens import MAX_TOKEN_CHARS, tokens
from nim_mock.synth.validate import violation
from nim_mock.wire.errors import Problem

MODEL = "meta/llama-3.1-8b-instruct"
GENEROUS_S = 30.0
"""Long enough for any bounded case on a loaded machine; an unbounded one (a billion characters)
runs for minutes and fails here instead of hanging the run."""

_T = TypeVar("_T")


def bounded(work: Callable[[], _T]) -> _T:
    """``work()``, failing the test (rather than hanging it) if it runs past :data:`GENEROUS_S`."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result(timeout=GENEROUS_S)


def refusal(schema: Any, **budget: Any) -> str:
    with pytest.raises(SchemaUnsupported) as caught:
        bounded(lambda: instance_for(schema, **budget))
    return str(caught.value)


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "Fill it in."}], **extra}


def synthesized(body: dict[str, Any]) -> dict[str, Any] | Problem:
    answer = bounded(lambda: synthesize(body, SynthConfig(), chat=True))
    if isinstance(answer, Problem):
        return answer
    parsed: dict[str, Any] = json.loads(answer.body)
    return parsed


# -- malformed schemas: refused by keyword, with where ------------------------------------------


@pytest.mark.parametrize(
    ("schema", "needle"),
    [
        ({"type": "object", "required": 1}, "at the top: 'required' must be an array of property names"),
        ({"properties": [1]}, "'properties' must be an object of schemas, got an array"),
        ({"properties": {"a": {"required": "a"}}}, "at properties.a: 'required'"),
        ({"type": "array", "prefixItems": 5}, "'prefixItems' must be a non-empty array of schemas"),
        ({"type": "array", "items": [1]}, "at items.0: a schema must be an object or a boolean"),
        ({"type": "str"}, "'type' must be one of object, array"),
        ({"type": []}, "'type' must be one of"),
        ({"minLength": -1}, "'minLength' must be a whole number >= 0, got -1"),
        ({"minLength": 1.5}, "'minLength' must be a whole number"),
        ({"maxItems": "3"}, "'maxItems' must be a whole number"),
        ({"minimum": "0"}, "'minimum' must be a finite number"),
        ({"maximum": float("inf")}, "'maximum' must be a finite number"),
        ({"exclusiveMinimum": "x"}, "'exclusiveMinimum' must be a finite number (or, draft-4 style"),
        ({"multipleOf": 0}, "'multipleOf' must be a number > 0"),
        ({"enum": "a"}, "'enum' must be an array"),
        ({"uniqueItems": 1}, "'uniqueItems' must be true or false"),
        ({"pattern": "("}, "'pattern' '(' is not a regex"),
        ({"pattern": 5}, "'pattern' must be a string"),
        ({"patternProperties": {"[": {}}}, "'patternProperties' key '[' is not a regex"),
        ({"anyOf": []}, "'anyOf' must be a non-empty array"),
        ({"allOf": {"type": "string"}}, "'allOf' must be a non-empty array"),
        ({"not": 3}, "at not: a schema must be an object or a boolean, got a number"),
        ({"$ref": 3}, "'$ref' must be a string"),
        ({"dependentRequired": {"a": "b"}}, "'dependentRequired' must map property names"),
        ({"dependencies": {"a": [1]}}, "'dependencies' of 'a' must be an array of names"),
        ({"$defs": {"x": {"required": 1}}, "$ref": "#/$defs/x"}, "'required' must be"),
        ({"components": {"x": {"minItems": "many"}}, "$ref": "#/components/x"}, "at #/components/x"),
        ({"unevaluatedProperties": False}, "'unevaluatedProperties' is not supported"),
        (3, "a schema must be an object or a boolean, got a number"),
    ],
)
def test_a_malformed_schema_is_refused_naming_the_keyword_and_where(schema: Any, needle: str) -> None:
    problem = schema_problem(schema)
    assert problem is not None
    assert needle in problem
    message = refusal(schema)
    assert message.startswith("it is not a valid JSON schema: ")
    assert needle in message


def test_well_formed_schemas_pass_the_keyword_check() -> None:
    for schema in (True, False, {}, {"minLength": 5.0}, {"exclusiveMinimum": True, "minimum": 0}):
        assert schema_problem(schema) is None
    recursive = {"$defs": {"n": {"properties": {"c": {"$ref": "#/$defs/n"}}}}, "$ref": "#/$defs/n"}
    assert schema_problem(recursive) is None


def test_the_keyword_check_walks_a_schema_nested_past_the_recursion_limit() -> None:
    schema: Any = {"required": 1}
    for _ in range(5000):
        schema = {"properties": {"a": schema}}
    problem = schema_problem(schema)
    assert problem is not None
    assert problem.endswith("'required' must be an array of property names (strings), got 1")


# -- impossible schemas: the 400 that says why ------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "needle"),
    [
        ({"type": "string", "minLength": 5, "maxLength": 2}, "'minLength' 5 is more than 'maxLength' 2"),
        ({"type": "array", "minItems": 3, "maxItems": 1}, "'minItems' 3 is more than 'maxItems' 1"),
        ({"type": "object", "minProperties": 2, "maxProperties": 1}, "'minProperties' 2 is more than"),
        ({"not": {}}, "is valid under the schema in 'not'"),
        ({"not": True}, "is valid under the schema in 'not'"),
        ({"type": "string", "const": 5}, "5 is not of type string"),
        ({"type": "integer", "enum": ["a", "b"]}, "no 'enum' member has type"),
        ({"enum": []}, "lists no value"),
        ({"type": "number", "minimum": 5, "maximum": 1}, "no number fits"),
        ({"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1}, "no number fits"),
        ({"type": "number", "minimum": 1, "maximum": 1, "exclusiveMaximum": True}, "no number fits"),
        ({"type": "number", "multipleOf": 1e-300, "minimum": 1e300}, "no number a double can hold"),
        ({"type": "number", "minimum": 1.7e308, "maximum": 1.79e308, "multipleOf": 0.5}, "a double"),
        (
            {"type": "object", "properties": {}, "required": ["a"], "additionalProperties": False},
            "accepts no value",
        ),
        ({"type": "string", "if": {"type": "string"}, "then": {"type": "integer"}}, "'then' of an 'if'"),
        ({"type": "object", "propertyNames": {"maxLength": 1}, "minProperties": 1}, "as a property name"),
        ({"type": "array", "items": {"const": 1}, "minItems": 2, "uniqueItems": True}, "distinct items"),
        (
            {
                "type": "object",
                "properties": {"a": {}},
                "required": ["a"],
                "dependentRequired": {"a": ["b"]},
                "additionalProperties": False,
            },
            "so 'b' is required too",
        ),
        (
            {
                "type": "object",
                "patternProperties": {"^a": {"type": "integer"}},
                "properties": {"ab": {"type": "string"}},
                "required": ["ab"],
            },
            "at once",
        ),
    ],
)
def test_an_impossible_schema_is_refused_with_the_reason(schema: Any, needle: str) -> None:
    assert needle in refusal(schema)


def test_an_impossible_schema_gets_the_400_not_a_200_that_fails_it() -> None:
    answer = synthesized(chat(guided_json={"type": "string", "minLength": 5, "maxLength": 2}))
    assert isinstance(answer, Problem)
    assert answer.status == 400
    assert "cannot make content for the requested JSON schema: 'minLength' 5 is more than" in answer.message
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "required": 1}}}
    answer = synthesized(chat(tools=[tool], tool_choice="required"))
    assert isinstance(answer, Problem)
    assert "cannot make arguments for tool 'f': it is not a valid JSON schema" in answer.message


def test_a_value_outside_not_is_found_by_varying_the_first_guess() -> None:
    schema = {"type": "string", "not": {"const": "response"}}
    assert instance_for(schema, name="response") == "response 1"
    assert instance_for({"type": "boolean", "not": {"const": True}}) is False


def test_draft_4_exclusive_bounds_and_keywords_the_generator_now_honours() -> None:
    assert instance_for({"type": "integer", "minimum": 5, "exclusiveMinimum": True}) == 6
    assert instance_for({"type": "number", "maximum": 0, "exclusiveMaximum": True}) == -1
    assert instance_for({"type": "integer", "minimum": 5, "exclusiveMinimum": False}) == 5
    made = instance_for(
        {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
            "required": ["a"],
            "dependentRequired": {"a": ["b"]},
            "patternProperties": {"^a$": {"maxLength": 1}},
            "minProperties": 2,
        },
        name="x",
    )
    assert made == {"a": "a", "b": 1}
    assert instance_for({"type": "array", "contains": {"const": 7}, "minContains": 2, "items": {}}) == [7, 7]


# -- limits: refused naming the limit, quickly --------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "needle"),
    [
        ({"type": "string", "minLength": 10**9}, "'minLength' 1000000000 of 'value' needs more than"),
        ({"type": "string", "minLength": 1e9}, "'minLength' 1000000000"),
        ({"type": "array", "minItems": 10**9}, "'minItems' 1000000000 of 'value' needs more than"),
        ({"type": "object", "minProperties": 10**9}, "'minProperties' 1000000000 of 'value' needs more than"),
        (
            {"type": "array", "minItems": 1000, "items": {"type": "string", "minLength": 1000}},
            "needs more than",
        ),
        ({"type": "string", "pattern": "^a{1000000000}$"}, "'pattern' '^a{1000000000}$' of 'value' needs"),
        ({"type": "string", "pattern": "^(ab{1000}){100000}$"}, "'pattern' '^(ab{1000}){100000}$' of"),
        ({"type": "array", "minItems": 200, "items": {"const": "x" * 2000}}, "the value of 'value'"),
    ],
)
def test_a_schema_past_the_content_limit_is_refused_naming_it(schema: Any, needle: str) -> None:
    message = refusal(schema)
    assert needle in message
    assert str(MAX_CONTENT_CHARS) in message


def test_refs_that_fan_out_are_refused_at_the_step_limit() -> None:
    defs = {f"d{i}": {"allOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 4} for i in range(14)}
    defs["d14"] = {"type": "string"}
    message = refusal({"$defs": defs, "$ref": "#/$defs/d0"})
    assert f"more than {MAX_SCHEMA_STEPS} steps" in message


def test_what_max_tokens_keeps_bounds_what_is_made() -> None:
    for schema in (
        {"type": "string", "minLength": 10**9},
        {"type": "array", "minItems": 10**9, "items": {"type": "integer"}},
        {"type": "object", "minProperties": 10**9},
        {"type": "string", "pattern": "^a{1000000000}$"},
    ):
        made = bounded(lambda schema=schema: instance_for(schema, budget=Budget.for_answer(16)))
        assert len(json.dumps(made)) < 10_000  # made for 16 tokens, not for a billion
        answer = synthesized(chat(guided_json=schema, max_tokens=16))
        assert not isinstance(answer, Problem), answer
        choice = answer["choices"][0]
        assert choice["finish_reason"] == "length"
        assert answer["usage"]["completion_tokens"] == 16
        assert len(tokens(choice["message"]["content"])) == 16


def test_the_cut_content_is_the_start_of_the_whole_answer() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string", "minLength": 3000}, "b": {"type": "array", "minItems": 50}},
        "required": ["a", "b"],
    }
    whole = json.dumps(instance_for(schema, name="response"), ensure_ascii=False)
    for max_tokens in (1, 5, 40, 200, 300):
        answer = synthesized(chat(guided_json=schema, max_tokens=max_tokens))
        assert not isinstance(answer, Problem)
        assert answer["choices"][0]["message"]["content"] == "".join(tokens(whole)[:max_tokens])


def test_an_answer_past_the_token_limit_is_refused_naming_it() -> None:
    rules = parse_reply_rules({"rules": [{"match": ".", "reply": "a " * 40_000}]})
    body = chat(n=3)
    answer = bounded(lambda: synthesize(body, SynthConfig(rules=rules), chat=True))
    assert isinstance(answer, Problem)
    assert f"more than the {MAX_ANSWER_TOKENS} the mock synthesizes" in answer.message
    assert "(3 choices of 40001)" in answer.message
    long_reply = parse_reply_rules({"rules": [{"match": ".", "reply": "b" * (MAX_CONTENT_CHARS + 1)}]})
    answer = synthesize(chat(), SynthConfig(rules=long_reply), chat=True)
    assert isinstance(answer, Problem)
    assert "the rules' reply needs more than" in answer.message
    cut = synthesize(chat(max_tokens=3), SynthConfig(rules=long_reply), chat=True)
    assert not isinstance(cut, Problem)
    assert json.loads(cut.body)["choices"][0]["message"]["content"] == "b" * 48


def test_a_regex_is_cut_or_refused_at_its_length_limit() -> None:
    assert string_matching("^x{1000000000}$", max_length=10, prefix_only=True) == "x" * 10
    with pytest.raises(RegexUnsupported, match="past the 10 the mock generates"):
        string_matching("^x{1000000000}$", max_length=10)
    assert string_matching("^(a|b{1000000000})$", max_length=10) == "a"  # the dropped branch is not built


@given(st.text(alphabet=st.sampled_from(["a", " ", "\n", "é", ","]), max_size=400))
def test_tokens_are_bounded_and_round_trip(text: str) -> None:
    parts = tokens(text)
    assert "".join(parts) == text
    assert all(0 < len(part) <= MAX_TOKEN_CHARS for part in parts)


def test_a_long_word_is_many_tokens() -> None:
    assert len(tokens("x" * 1600)) == 100
    assert len(tokens(" " * 40 + "x")) == 3


# -- the checker agrees with jsonschema ------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(schema=schemas, value=json_values)
def test_the_checker_agrees_with_jsonschema(schema: Any, value: Any) -> None:
    expected = jsonschema.Draft202012Validator(schema).is_valid(value)
    problem = violation(value, schema, root=schema, budget=Budget(MAX_CONTENT_CHARS, prefix_only=False))
    assert (problem is None) == expected, problem


@settings(max_examples=200, deadline=None)
@given(schema=schemas)
def test_the_checker_accepts_every_value_made_for_a_schema(schema: Any) -> None:
    value = instance_for(schema)
    assert violation(value, schema, root=schema, budget=Budget(MAX_CONTENT_CHARS, prefix_only=False)) is None


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"type": "integer"}, 5.0, True),
        ({"const": 1}, 1.0, True),
        ({"enum": [[1, {"a": False}]]}, [1.0, {"a": False}], [1, {"a": 0}]),
        ({"multipleOf": 0.1}, 0.4, 0.3),  # 0.3 / 0.1 is 2.9999999999999996 (as jsonschema finds)
        ({"multipleOf": 0.5}, 1e300, 0.3),
        ({"uniqueItems": True}, [1, True, "1"], [1, 1.0]),
        ({"prefixItems": [{"type": "string"}], "items": False}, ["a"], ["a", 1]),
        ({"items": [{"type": "string"}], "additionalItems": False}, ["a"], ["a", 1]),
        ({"contains": {"type": "integer"}, "maxContains": 1}, [1, "a"], [1, 2]),
        ({"contains": {"type": "integer"}, "minContains": 0, "maxItems": 1}, ["a"], ["a", "b"]),
        (
            {"patternProperties": {"^x": {"type": "integer"}}, "additionalProperties": False},
            {"xa": 1},
            {"y": 1},
        ),
        ({"dependencies": {"a": ["b"]}}, {"a": 1, "b": 2}, {"a": 1}),
        ({"dependentSchemas": {"a": {"required": ["c"]}}}, {"a": 1, "c": 1}, {"a": 1}),
        ({"if": {"minimum": 10}, "then": {"multipleOf": 5}, "else": {"maximum": 3}}, 15, 5),
        ({"oneOf": [{"minimum": 0}, {"maximum": 10}]}, -1, 5),
        ({"$defs": {"s": {"type": "string"}}, "items": {"$ref": "#/$defs/s"}}, ["a"], [1]),
        ({"minimum": 5, "exclusiveMinimum": True}, 6, 5),
    ],
)
def test_the_checker_on_the_keywords_it_covers(schema: Any, good: Any, bad: Any) -> None:
    budget = Budget(MAX_CONTENT_CHARS, prefix_only=False)
    assert violation(good, schema, root=schema, budget=budget) is None
    assert violation(bad, schema, root=schema, budget=budget) is not None


def test_messages_quote_json_for_a_reader() -> None:
    problem = schema_problem({"uniqueItems": None})
    assert problem is not None
    assert problem.endswith("got null")
    assert re.search(r"got true$", schema_problem({"maxItems": True}) or "")
