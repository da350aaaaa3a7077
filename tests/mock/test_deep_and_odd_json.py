"""JSON the mock must carry however it is shaped: nested past Python's recursion limit, holding lone
surrogates, numbers too long to read. Matching renders it at any depth; refusing it names what is
wrong; error messages that quote it can still be sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from strategies import json_values

from nim_mock.cassette import Cassette, Interaction, RecordedRequest, RecordedResponse
from nim_mock.cassettes.canonical import (
    MAX_JSON_DEPTH,
    body_key,
    canonical_text,
    describe_value,
    json_depth,
    lone_surrogate_at,
)
from nim_mock.serve.inbound import check_json, matchable_body
from nim_mock.serve.match import Hit, Matcher
from nim_mock.wire.errors import Problem, render_problem

FAR_PAST_RECURSION = 5000


def nested(value: Any, depth: int, *, key: str | None = None) -> Any:
    """``value`` wrapped in ``depth`` arrays (or one-key objects), built without recursion."""
    for _ in range(depth):
        value = {key: value} if key is not None else [value]
    return value


@settings(max_examples=60, deadline=None)
@given(json_values)
def test_a_value_nested_past_the_recursion_limit_renders_as_its_shallow_self(value: Any) -> None:
    inner = canonical_text(value)
    deep = canonical_text(nested(value, FAR_PAST_RECURSION))
    assert deep == "[" * FAR_PAST_RECURSION + inner + "]" * FAR_PAST_RECURSION
    as_object = canonical_text(nested(value, FAR_PAST_RECURSION, key="k"))
    assert as_object == '{"k":' * FAR_PAST_RECURSION + inner + "}" * FAR_PAST_RECURSION


def test_the_deep_rendering_keeps_the_canonical_rules() -> None:
    value = {"b": [1.0, 2.5, None, True, "é"], "a": {}, "c": []}
    deep = nested(value, FAR_PAST_RECURSION)
    text = canonical_text(deep)
    assert text[FAR_PAST_RECURSION:-FAR_PAST_RECURSION] == '{"a":{},"b":[1,2.5,null,true,"é"],"c":[]}'
    assert describe_value(deep).startswith("[[[")


def test_a_recorded_body_deeper_than_json_can_write_back_is_matched_again() -> None:
    """The body json.loads reads (nearly 1,000 levels) is indexed and found, not a RecursionError."""
    raw = ('{"model":"m","x":' + "[" * 900 + "]" * 900 + "}").encode()
    body, raw_body = matchable_body(raw)
    assert raw_body is None
    recorded = RecordedRequest("POST", "/v1/chat/completions", {}, body=body)
    matcher = Matcher([Cassette("deep", (Interaction(recorded, RecordedResponse(200, (), b"{}")),))])
    sent = RecordedRequest("POST", "/v1/chat/completions", {}, *matchable_body(raw))
    assert isinstance(matcher.match(sent), Hit)
    other = json.loads(raw.replace(b'"model":"m"', b'"model":"n"'))
    assert body_key(other, None, ()) != body_key(body, None, ())
    assert not isinstance(matcher.match(RecordedRequest("POST", "/v1/chat/completions", {}, other)), Hit)


def test_a_body_json_cannot_read_is_matched_by_its_bytes() -> None:
    too_deep = b"[" * 100_000 + b"]" * 100_000
    assert matchable_body(too_deep) == (None, too_deep)
    huge_number = b'{"n": ' + b"9" * 5000 + b"}"
    assert matchable_body(huge_number) == (None, huge_number)
    assert matchable_body(b"") == (None, None)


@pytest.mark.parametrize(
    ("value", "depth"),
    [(1, 0), ("s", 0), ([], 1), ({}, 1), ({"a": [1]}, 2), ([[[]], {}], 3), (nested(0, 7000), 7000)],
)
def test_json_depth(value: Any, depth: int) -> None:
    assert json_depth(value) == depth


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"a": "ok"}', None),
        ('{"a": "\\ud83d\\ude00"}', None),  # a pair is one character
        ('"\\ud800"', ""),
        ('{"messages": [{"content": "x\\udfff"}]}', "messages.0.content"),
        ('{"a": [1, {"\\udc00": 2}]}', "a.1.\\udc00"),
    ],
)
def test_lone_surrogate_at_names_the_string_or_key(text: str, where: str | None) -> None:
    assert lone_surrogate_at(json.loads(text)) == where


def test_a_lone_surrogate_deep_inside_is_found_without_recursion() -> None:
    where = lone_surrogate_at(nested("\ud800", FAR_PAST_RECURSION, key="k"))
    assert where == ".".join(["k"] * FAR_PAST_RECURSION)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b'{"a": ' + b"[" * (MAX_JSON_DEPTH + 5) + b"]" * (MAX_JSON_DEPTH + 5) + b"}", "134 levels deep"),
        (b"[" * 100_000 + b"]" * 100_000, "too deeply to read"),
        (b'{"n": ' + b"1" * 5000 + b"}", "a number the mock cannot read"),
        (b'{"messages": [{"role": "user", "content": "\\ud800"}]}', "lone surrogate at messages.0.content"),
        (b'{"\\udc00x": 1}', "lone surrogate at \\udc00x"),
        (b'{"a": "\x00"}', "Invalid control character"),
        (b"\xff", "not valid UTF-8"),
    ],
)
def test_check_json_refuses_what_the_mock_cannot_carry_and_says_what(raw: bytes, needle: str) -> None:
    value, problem = check_json(raw)
    assert value is None
    assert problem is not None
    assert problem.status == 400
    assert needle in problem.message
    if "deep" in needle:
        assert f"at most {MAX_JSON_DEPTH} levels" in problem.message


def test_check_json_takes_a_body_at_the_depth_limit() -> None:
    raw = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert check_json(raw) == (nested([], MAX_JSON_DEPTH - 1), None)
    assert check_json(b'{"a": "\\\\ud800"}') == ({"a": "\\ud800"}, None)  # an escaped backslash


def test_a_problem_quoting_a_lone_surrogate_keeps_it_escaped() -> None:
    problem = Problem(404, "NotFoundError", "sent 'a\ud800b'")
    assert problem.message == "sent 'a\\ud800b'"
    for layout in ("nim", "vllm"):
        _, _, body = render_problem(problem, layout)
        assert "a\\\\ud800b" in body.decode("utf-8")
