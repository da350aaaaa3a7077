"""The pure parts of fault injection: rules and header parsing, the seeded decision, the wire bytes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from syrupy.extensions.json import JSONSnapshotExtension

from nim_mock.faults.kinds import (
    Accepted,
    Cut,
    Fault,
    FaultRules,
    FaultRulesError,
    Latency,
    Malformed,
    Match,
    RateLimit,
    Rule,
    ServerError,
    SlowFirstToken,
    SlowTokens,
    StreamError,
    When,
)
from nim_mock.faults.plan import FaultPlan, RequestFacts, combine, fires, request_id
from nim_mock.faults.rules import load_fault_rules, parse_fault_rules, parse_header
from nim_mock.faults.wire import (
    accepted_response,
    error_response,
    malformed_event,
    stream_error_events,
)

# -- rules file ------------------------------------------------------------------------------------


def test_a_full_rules_file_parses() -> None:
    rules = parse_fault_rules(
        {
            "version": 1,
            "seed": 7,
            "rules": [
                {
                    "name": "throttle",
                    "match": {"path": "/v1/chat/*", "model": "meta/*", "stream": True, "method": "post"},
                    "when": {"every": 3},
                    "fault": {"kind": "rate_limit", "retry_after": 2},
                },
                {"when": {"probability": 0.25}, "fault": ["latency;ms=50", {"kind": "cut", "after": 4}]},
                {"when": {"first": 2}, "fault": "202;polls=3"},
            ],
        }
    )
    assert rules.seed == 7
    first, second, third = rules.rules
    assert first == Rule(
        "throttle",
        (RateLimit(retry_after=2.0),),
        Match(method="POST", path="/v1/chat/*", model="meta/*", stream=True),
        When(every=3),
    )
    assert second.name == "rules[1]"
    assert second.faults == (Latency(50.0), Cut(4))
    assert second.when == When(probability=0.25)
    assert third.faults == (Accepted(3),)
    assert rules.needs_body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "top level: must be an object"),
        ({"rule": []}, "unknown key 'rule'; valid keys: version, seed, rules"),
        ({"version": 2}, "version: 2 is not supported"),
        ({"seed": "x"}, "seed: must be a whole number"),
        ({"rules": {}}, "rules: must be a list"),
        ({"rules": [{}]}, "rules[0].fault: required"),
        ({"rules": [{"fault": {"kind": "teapot"}}]}, "rules[0].fault: unknown fault kind 'teapot'"),
        ({"rules": [{"fault": {"retry_after": 1}}]}, "rules[0].fault.kind: required"),
        ({"rules": [{"fault": {"kind": "429", "retry_after": -1}}]}, "rules[0].fault.retry_after: must be"),
        ({"rules": [{"fault": {"kind": "429", "after": 1}}]}, "rate_limit takes no parameter 'after'"),
        ({"rules": [{"fault": {"kind": "server_error", "status": 501}}]}, "must be one of 500, 502, 503"),
        ({"rules": [{"fault": {"kind": "latency"}}]}, "rules[0].fault: latency needs ms=..."),
        ({"rules": [{"fault": {"kind": "cut", "after": 1.5}}]}, "rules[0].fault.after: must be a whole"),
        ({"rules": [{"fault": {"kind": "stream_error", "layout": "gateway"}}]}, "must be one of nim, vllm"),
        ({"rules": [{"fault": []}]}, "rules[0].fault: an empty list"),
        ({"rules": [{"fault": [3]}]}, "rules[0].fault[0]: must be an object"),
        ({"rules": [{"fault": "cut;after"}]}, "rules[0].fault: x-nim-mock-fault fault 1: parameter 'after'"),
        (
            {"rules": [{"fault": "cut", "when": {"every": 0}}]},
            "rules[0].when.every: must be a whole number >= 1",
        ),
        ({"rules": [{"fault": "cut", "when": {"every": 2, "first": 1}}]}, "give one of every, first"),
        ({"rules": [{"fault": "cut", "when": {"probability": 1.5}}]}, "rules[0].when.probability: must be"),
        (
            {"rules": [{"fault": "cut", "match": {"stream": "yes"}}]},
            "rules[0].match.stream: must be true or false",
        ),
        ({"rules": [{"fault": "cut", "match": {"host": "x"}}]}, "rules[0].match: unknown key 'host'"),
        ({"rules": [{"fault": "cut", "match": {"path": ""}}]}, "rules[0].match.path: must be a non-empty"),
        ({"rules": [{"fault": "cut", "name": 3}]}, "rules[0].name: must be a non-empty string"),
    ],
)
def test_a_bad_rules_file_names_the_file_and_the_field(data: Any, message: str) -> None:
    with pytest.raises(FaultRulesError) as caught:
        parse_fault_rules(data, "faults.json")
    assert str(caught.value).startswith("faults.json: ")
    assert message in str(caught.value)


def test_load_rules_reports_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(FaultRulesError, match=r"missing\.json: cannot read the faults file"):
        load_fault_rules(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"rules": [\n  {"fault": }\n]}')
    with pytest.raises(FaultRulesError, match=r"broken\.json: not valid JSON \(line 2, column 13"):
        load_fault_rules(broken)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"seed": 3, "rules": [{"fault": "503"}]}))
    assert load_fault_rules(good) == FaultRules((Rule("rules[0]", (ServerError(503),)),), seed=3)


# -- header ----------------------------------------------------------------------------------------


def test_header_lists_faults_with_parameters_and_aliases() -> None:
    assert parse_header("429;retry_after=2, slow-tokens;ms=20,500, 202") == (
        RateLimit(retry_after=2.0),
        SlowTokens(20.0),
        ServerError(500),
        Accepted(1),
    )
    assert parse_header("stream_error;after=3;layout=vllm;code=400;message=context too long") == (
        StreamError(after=3, layout="vllm", code=400, message="context too long"),
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "fault 1: empty fault"),
        ("429,,cut", "fault 2: empty fault"),
        ("cut;3", "parameter '3' is not NAME=VALUE"),
        ("slow_tokens", "slow_tokens needs ms=..."),
        ("latency;ms=fast", "ms: must be a number of milliseconds >= 0, got 'fast'"),
        ("503;status=500x", "must be one of 500, 502, 503, 504"),
    ],
)
def test_bad_header_says_the_syntax(value: str, message: str) -> None:
    with pytest.raises(FaultRulesError) as caught:
        parse_header(value)
    assert message in str(caught.value)
    assert "the header reads KIND[;NAME=VALUE]" in str(caught.value)


counts = st.integers(min_value=0, max_value=50)
millis = st.integers(min_value=0, max_value=5000).map(float)
faults: st.SearchStrategy[Fault] = st.one_of(
    st.builds(Latency, millis),
    st.builds(SlowFirstToken, millis),
    st.builds(SlowTokens, millis),
    st.builds(RateLimit, st.none() | millis, st.sampled_from([None, "nim", "vllm", "gateway"])),
    st.builds(
        ServerError,
        st.sampled_from([500, 502, 503, 504]),
        st.sampled_from([None, "nim", "gateway"]),
        st.none() | millis,
    ),
    st.builds(Accepted, counts),
    st.builds(Cut, counts),
    st.builds(Malformed, counts),
    st.builds(
        StreamError,
        counts,
        st.sampled_from([None, "nim", "vllm"]),
        st.integers(min_value=400, max_value=599),
        st.none() | st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=20),
    ),
)


def header_of(fault: Fault) -> str:
    params = [
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in dataclasses.asdict(fault).items()
    ]
    return ";".join([fault.KIND, *(p for p in params if not p.endswith("=None"))])


@given(st.lists(faults, min_size=1, max_size=4))
def test_any_faults_survive_the_header_round_trip(chosen: list[Fault]) -> None:
    assert parse_header(", ".join(header_of(f) for f in chosen)) == tuple(chosen)


# -- decision --------------------------------------------------------------------------------------


@given(st.integers(1, 20), st.integers(0, 200))
def test_every_n_fires_on_each_nth_request(every: int, total: int) -> None:
    hits = [n for n in range(1, total + 1) if fires(When(every=every), 0, 0, n)]
    assert hits == list(range(every, total + 1, every))


@given(st.integers(1, 20), st.integers(0, 200))
def test_first_k_fires_on_the_first_k(first: int, total: int) -> None:
    assert sum(fires(When(first=first), 0, 0, n) for n in range(1, total + 1)) == min(first, total)


@given(st.integers(), st.floats(0.1, 0.9))
@settings(max_examples=25)
def test_probability_is_a_function_of_the_seed_and_roughly_p(seed: int, p: float) -> None:
    draws = [fires(When(probability=p), seed, 0, n) for n in range(1, 2001)]
    assert draws == [fires(When(probability=p), seed, 0, n) for n in range(1, 2001)]
    assert abs(sum(draws) / 2000 - p) < 0.06


def test_probability_extremes_and_other_seeds() -> None:
    assert not any(fires(When(probability=0.0), 1, 0, n) for n in range(1, 500))
    assert all(fires(When(probability=1.0), 1, 0, n) for n in range(1, 500))
    one = [fires(When(probability=0.5), 1, 0, n) for n in range(1, 65)]
    other = [fires(When(probability=0.5), 2, 0, n) for n in range(1, 65)]
    assert one != other


def test_request_ids_are_uuid_shaped_and_seeded() -> None:
    assert request_id(1, 1) == request_id(1, 1) != request_id(2, 1) != request_id(1, 2)
    assert [len(part) for part in request_id(1, 1).split("-")] == [8, 4, 4, 4, 12]


def test_plan_counts_each_rule_over_the_requests_it_matches() -> None:
    rules = parse_fault_rules(
        {
            "rules": [
                {
                    "name": "chat",
                    "match": {"path": "/v1/chat/*", "stream": True},
                    "when": {"every": 2},
                    "fault": "503",
                },
                {"name": "big", "match": {"model": "meta/*-70b-*"}, "fault": "latency;ms=5"},
                {"name": "get", "match": {"method": "GET"}, "when": {"first": 1}, "fault": "429"},
            ]
        }
    )
    plan = FaultPlan(rules)
    chat = RequestFacts("POST", "/v1/chat/completions", "meta/llama-3.1-70b-instruct", True)
    not_streamed = dataclasses.replace(chat, stream=False, model="meta/llama-3.1-8b-instruct")
    models = RequestFacts("GET", "/v1/models")
    decided = [plan.decide(f) for f in (chat, not_streamed, chat, models, models)]
    assert [d.sources for d in decided] == [("big",), (), ("chat", "big"), ("get",), ()]
    assert [d.number for d in decided] == [1, 2, 3, 4, 5]
    plan.replace(FaultRules(rules.rules[2:]))
    assert plan.decide(models).sources == ("get",)  # counting starts again


def test_combine_adds_delays_and_lets_the_first_answer_win() -> None:
    effects = combine(
        (Latency(10), Latency(5), RateLimit(1.0), ServerError(503), Cut(2), StreamError(), SlowTokens(3)),
        ("header", "header", "header", "a", "b", "c", "d"),
    )
    assert effects.delay_ms == 15
    assert effects.answer == RateLimit(1.0)
    assert effects.answer_source == "header"
    assert effects.end == Cut(2)
    assert effects.token_ms == 3
    assert effects.ignored == ["503 <a>", "stream_error after=1 code=500 <c>"]
    assert effects.shapes_stream


# -- wire bytes ------------------------------------------------------------------------------------


@pytest.fixture
def snapshot_json(snapshot: Any) -> Any:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_injected_bytes_are_exactly_what_servers_send(snapshot_json: Any) -> None:
    def head(answer: tuple[int, list[tuple[bytes, bytes]], bytes]) -> dict[str, Any]:
        status, headers, body = answer
        return {
            "status": status,
            "headers": [[k.decode(), v.decode()] for k, v in headers],
            "body": body.decode(),
        }

    assert snapshot_json == {
        "429 nim retry_after": head(error_response(RateLimit(retry_after=0.5), "nim", "header")),
        "429 vllm": head(error_response(RateLimit(), "vllm", "rules[0]")),
        "429 gateway": head(error_response(RateLimit(layout="gateway"), "nim", "throttle")),
        "503 nim": head(error_response(ServerError(503), "nim", "header")),
        "502 vllm": head(error_response(ServerError(502), "vllm", "header")),
        "503 retry_after gateway": head(error_response(ServerError(503, "gateway", 1.0), "nim", "header")),
        "202": head(accepted_response("0b4c9d2e-1f3a-4b5c-8d7e-6f5a4b3c2d1e")),
        "stream error nim": [e.decode() for e in stream_error_events(StreamError(after=3), "nim", 3)],
        "stream error vllm 400": [
            e.decode() for e in stream_error_events(StreamError(code=400, message="too long"), "vllm", 1)
        ],
        "malformed": malformed_event(
            b'data: {"choices":[{"delta":{"content":"caf\xc3\xa9!"}}]}\n\n'
        ).decode(),
    }


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=12) | st.integers(), min_size=1, max_size=4))
def test_a_malformed_event_is_never_json(data: dict[str, Any]) -> None:
    event = b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"
    broken = malformed_event(event)
    assert broken.startswith(b"data: ")
    assert broken.endswith(b"\n\n")
    with pytest.raises(ValueError):  # noqa: PT011 - JSONDecodeError is a ValueError
        json.loads(broken.decode().removeprefix("data: "))
