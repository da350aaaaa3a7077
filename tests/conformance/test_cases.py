"""The battery's table keeps its own rules: enough cases, every kind the issue asks for, each distinct."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from .cases import CONTEXT_LIMIT, DEFAULT_MODEL, TOO_LONG, Case, cases
from .send import request_bytes, url_for

BATTERY = cases()


def _request_key(case: Case) -> tuple[str, str, bytes | None, str | None]:
    return (case.method, case.path, request_bytes(case), case.content_type)


def test_the_battery_is_large_and_names_are_unique() -> None:
    assert len(BATTERY) >= 150
    assert len({case.name for case in BATTERY}) == len(BATTERY)


def test_every_request_is_distinct_so_a_recording_answers_each_case_with_its_own_exchange() -> None:
    repeated = [key for key, count in Counter(map(_request_key, BATTERY)).items() if count > 1]
    assert repeated == []


def test_every_body_can_be_stored_in_a_cassette_and_told_apart_there() -> None:
    for case in BATTERY:
        body = request_bytes(case)
        if body is None:
            continue
        body.decode("utf-8")  # format v1 stores request bodies as text
        assert body.strip() != b"null", case.name  # a recording keeps no body for null


@pytest.mark.parametrize(
    "group",
    [
        "models",
        "server",
        "path",
        "method",
        "chat",
        "max_tokens",
        "temperature",
        "top_p",
        "n",
        "logprobs",
        "seed",
        "stop",
        "presence_penalty",
        "frequency_penalty",
        "model",
        "messages",
        "context",
        "stream",
        "tools",
        "structured",
        "completions",
        "body",
    ],
)
def test_each_kind_of_request_has_valid_and_invalid_cases(group: str) -> None:
    members = [case for case in BATTERY if case.group == group]
    assert len(members) >= 3, group


def test_sampling_fields_are_tried_at_inside_and_outside_their_range() -> None:
    names = {case.name for case in BATTERY}
    for field in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        inside = {f"{field}.inside"}
        outside = {
            n for n in names if n.startswith(f"{field}.") and n.split(".")[1] in ("over", "under", "negative")
        }
        assert inside <= names, field
        assert outside, field
    assert {"n.one", "n.two", "n.zero", "n.over_max", "logprobs.top_max", "logprobs.top_over"} <= names
    assert {
        "max_tokens.one",
        "max_tokens.context_limit",
        "max_tokens.over_context",
        "max_tokens.zero",
    } <= names


def test_generating_requests_carry_a_seed_so_one_engine_answers_them_alike_twice() -> None:
    unseeded = [
        case.name
        for case in BATTERY
        if isinstance(case.body, dict) and "seed" not in case.body and case.name != "seed.absent"
    ]
    assert unseeded == []


def test_too_long_context_is_longer_than_max_model_len_even_at_one_token_per_word() -> None:
    assert len(TOO_LONG.split()) > CONTEXT_LIMIT
    too_long = [c for c in BATTERY if isinstance(c.body, dict) and TOO_LONG in json.dumps(c.body)]
    assert {c.path for c in too_long} == {"chat/completions", "completions"}


def test_the_model_id_is_a_parameter() -> None:
    other = cases("local/tiny-vllm")
    assert [c.name for c in other] == [c.name for c in BATTERY]
    assert all(DEFAULT_MODEL not in (request_bytes(c) or b"").decode() for c in other)
    assert any(b"local/tiny-vllm" in (request_bytes(c) or b"") for c in other)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("chat/completions", "http://h:1/v1/chat/completions"),
        ("/health", "http://h:1/health"),
        ("models/meta/llama", "http://h:1/v1/models/meta/llama"),
    ],
)
def test_paths_are_relative_to_the_base_url_unless_they_start_at_the_root(path: str, expected: str) -> None:
    assert url_for("http://h:1/v1/", path) == expected
