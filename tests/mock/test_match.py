"""Matching: canonical bodies, ignore paths, replay order, scope, and the message a miss carries."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import json_objects, json_scalars, json_values, redump

from nim_mock.cassette import Cassette, Interaction, RecordedRequest, RecordedResponse
from nim_mock.cassettes.canonical import (
    ABSENT,
    canonical_text,
    describe_value,
    diff_leaves,
    flatten,
    parse_ignore,
    strip_ignored,
)
from nim_mock.serve.match import RECORD_HINT, Hit, Matcher, Miss, MissReport

CHAT = "/v1/chat/completions"
MODEL = "meta/llama-3.1-8b-instruct"


def chat_body(content: str = "Say hello", **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": content}], **extra}


def post(body: Any, path: str = CHAT) -> RecordedRequest:
    return RecordedRequest("POST", path, {"content-type": "application/json"}, body=body)


def interaction(request: RecordedRequest, status: int = 200) -> Interaction:
    return Interaction(request, RecordedResponse(status, body=json.dumps({"status": status}).encode()))


def cassette(name: str, *interactions: Interaction, ignore: tuple[str, ...] = ()) -> Cassette:
    return Cassette(name, interactions, ignore=ignore, source=Path("cassettes") / f"{name}.json")


def hit(result: Hit | Miss) -> Hit:
    assert isinstance(result, Hit), result.message if isinstance(result, Miss) else result
    return result


def miss(result: Hit | Miss) -> Miss:
    assert isinstance(result, Miss), (
        f"expected a miss, got interaction #{result.index} of {result.cassette.name}"
    )
    return result


# --- canonical form ------------------------------------------------------------------------------------


@given(json_objects, st.data())
def test_matching_ignores_key_order_and_whitespace(body: dict[str, Any], data: st.DataObject) -> None:
    matcher = Matcher([cassette("c", interaction(post(body)))])
    sent = json.loads(data.draw(redump(body)))
    found = hit(matcher.match(post(sent)))
    assert found.index == 0


@given(json_objects, json_values, st.data())
def test_a_changed_leaf_is_a_miss_that_names_it(body: dict[str, Any], new: Any, data: st.DataObject) -> None:
    key = data.draw(st.text(max_size=8))
    changed = {**body, key: new}
    if key in body and canonical_text(body[key]) == canonical_text(new):
        return  # not a change
    matcher = Matcher([cassette("c", interaction(post(body)))])
    result = miss(matcher.match(post(changed)))
    assert result.closest == "c"
    assert result.diffs
    assert any(line.startswith((key, "and ")) for line in result.diffs) or key == ""


@pytest.mark.parametrize(("recorded", "sent"), [(0, 0.0), (1.0, 1), (0.5, 0.5), ([2], [2.0])])
def test_numbers_compare_by_value(recorded: Any, sent: Any) -> None:
    """JSON has one number type: a pydantic client's ``0.0`` is a hand-written ``0``."""
    matcher = Matcher([cassette("c", interaction(post({"temperature": recorded})))])
    assert isinstance(matcher.match(post({"temperature": sent})), Hit)


@pytest.mark.parametrize(
    ("recorded", "sent"),
    [(1, True), (0, False), (1.0, True), (None, False), ("1", 1), ([], {}), ([1], {"0": 1})],
)
def test_json_types_stay_distinct(recorded: Any, sent: Any) -> None:
    matcher = Matcher([cassette("c", interaction(post({"temperature": recorded})))])
    assert isinstance(matcher.match(post({"temperature": sent})), Miss)
    assert isinstance(matcher.match(post({"temperature": recorded})), Hit)


def test_non_json_bodies_match_by_bytes_and_empty_bodies_match_each_other() -> None:
    text = RecordedRequest("POST", "/v1/raw", raw_body=b"a=1&b=2")
    empty = RecordedRequest("GET", "/v1/models")
    matcher = Matcher([cassette("c", interaction(text), interaction(empty))])
    assert hit(matcher.match(RecordedRequest("POST", "/v1/raw", raw_body=b"a=1&b=2"))).index == 0
    assert hit(matcher.match(RecordedRequest("get", "/v1/models"))).index == 1
    result = miss(matcher.match(RecordedRequest("POST", "/v1/raw", raw_body=b"a=2")))
    assert result.diffs == ("body (not JSON): recorded 'a=1&b=2', sent 'a=2'",)


def test_the_query_string_is_part_of_the_path() -> None:
    matcher = Matcher([cassette("c", interaction(RecordedRequest("GET", "/v1/models?page=2")))])
    assert isinstance(matcher.match(RecordedRequest("GET", "/v1/models?page=2")), Hit)
    assert isinstance(matcher.match(RecordedRequest("GET", "/v1/models")), Miss)


# --- ignore paths -------------------------------------------------------------------------------------


def test_global_and_per_cassette_ignore_paths() -> None:
    recorded = chat_body(seed=1, stream_options={"include_usage": True})
    recorded["messages"][0]["name"] = "alice"
    matcher = Matcher(
        [
            cassette(
                "c", interaction(post(recorded)), ignore=("messages.*.name", "stream_options.include_usage")
            )
        ],
        ignore=["seed"],
    )
    sent = chat_body(seed=99, stream_options={"include_usage": False})
    assert isinstance(matcher.match(post(sent)), Hit)
    sent["stream_options"]["extra"] = 1
    assert miss(matcher.match(post(sent))).diffs == ("stream_options.extra: recorded absent, sent 1",)


def test_per_cassette_ignore_paths_apply_to_that_cassette_only() -> None:
    matcher = Matcher(
        [
            cassette("a", interaction(post(chat_body("A", seed=1, top_p=0.1))), ignore=("seed",)),
            cassette("b", interaction(post(chat_body("B", seed=1)))),
        ]
    )
    assert hit(matcher.match(post(chat_body("A", seed=2, top_p=0.1)))).cassette.name == "a"
    result = miss(matcher.match(post(chat_body("B", seed=2))))
    assert result.closest == "b"
    assert result.diffs == ("seed: recorded 1, sent 2",)


def test_an_ignored_list_element_keeps_the_others_aligned() -> None:
    assert strip_ignored({"m": [1, 2, 3]}, (parse_ignore("m.1"),)) == {"m": [1, {"\u0000ignored": True}, 3]}
    assert strip_ignored({"a": {"b": 1, "c": 2}}, (parse_ignore("*.b"),)) == {"a": {"c": 2}}
    assert strip_ignored({"a": 1}, (parse_ignore("x.y.z"),)) == {"a": 1}


@pytest.mark.parametrize("bad", ["", "a..b", ".a", "a."])
def test_a_malformed_ignore_path_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="has an empty segment"):
        Matcher([], ignore=[bad])
    with pytest.raises(ValueError, match=r"^cassette c: ignore path .* has an empty segment"):
        Matcher([cassette("c", interaction(post({})), ignore=(bad,))])


# --- order, cycling, scope --------------------------------------------------------------------------


def test_identical_requests_replay_in_recorded_order_then_cycle() -> None:
    a, b = post(chat_body("A")), post(chat_body("B"))
    matcher = Matcher([cassette("retry", interaction(a, 429), interaction(b), interaction(a, 200))])
    assert [hit(matcher.match(a)).index for _ in range(5)] == [0, 2, 0, 2, 0]
    assert hit(matcher.match(b)).index == 1
    assert hit(matcher.match(b)).index == 1
    matcher.reset()
    assert hit(matcher.match(a)).index == 0


def test_a_client_retrying_after_a_recorded_429_sees_429_then_200() -> None:
    request = post(chat_body())
    matcher = Matcher([cassette("errors/429", interaction(request, 429), interaction(request, 200))])
    statuses = [hit(matcher.match(request)).interaction.response.status for _ in range(3)]
    assert statuses == [429, 200, 429]


def test_unscoped_the_first_cassette_with_a_match_answers() -> None:
    request = post(chat_body())
    matcher = Matcher([cassette("a", interaction(request, 201)), cassette("b", interaction(request, 202))])
    assert [hit(matcher.match(request)).cassette.name for _ in range(3)] == ["a", "a", "a"]
    assert hit(matcher.match(request, scope="b")).cassette.name == "b"


def test_play_counts_and_reset_are_per_cassette() -> None:
    request = post(chat_body())
    matcher = Matcher(
        [
            cassette("a", interaction(request), interaction(request)),
            cassette("b", interaction(request), interaction(request)),
        ]
    )
    assert hit(matcher.match(request, scope="a")).index == 0
    assert hit(matcher.match(request, scope="b")).index == 0
    assert hit(matcher.match(request, scope="a")).index == 1
    matcher.reset("a")
    assert hit(matcher.match(request, scope="a")).index == 0
    assert hit(matcher.match(request, scope="b")).index == 1


def test_a_scoped_miss_points_at_the_cassette_that_would_answer() -> None:
    request = post(chat_body("only in b"))
    matcher = Matcher(
        [cassette("a", interaction(post(chat_body("other")))), cassette("b", interaction(request))]
    )
    result = miss(matcher.match(request, scope="a"))
    assert result.closest == "a"
    assert "(cassette b matches it, but this request is scoped to a)" in result.message


def test_an_unknown_scope_lists_the_loaded_cassettes() -> None:
    matcher = Matcher([cassette("chat/plain", interaction(post(chat_body())))])
    result = miss(matcher.match(post(chat_body()), scope="chat/plian"))
    assert result.closest is None
    assert "no cassette named 'chat/plian' is loaded (loaded: chat/plain)" in result.message


def test_two_cassettes_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="two cassettes are both named 'x'"):
        Matcher([cassette("x", interaction(post({}))), cassette("x", interaction(post({})))])


# --- the miss message -----------------------------------------------------------------------------------


def test_the_miss_message(snapshot: Any) -> None:
    recorded = chat_body("Say hello", temperature=0.2, max_tokens=64)
    matcher = Matcher(
        [
            cassette("chat/plain", interaction(post(recorded))),
            cassette("chat/other", interaction(post(chat_body("Something else entirely", n=2, top_p=0.5)))),
        ]
    )
    result = miss(matcher.match(post(chat_body("Hi", max_tokens=64))))
    assert result.closest == "chat/plain"
    assert result.diffs == (
        "messages.0.content: recorded 'Say hello', sent 'Hi'",
        "temperature: recorded 0.2, sent absent",
    )
    assert result.message == (
        f"no recorded interaction matches POST {CHAT}. Closest: chat/plain (interaction #1, file "
        "cassettes/chat/plain.json); differs at: messages.0.content: recorded 'Say hello', sent 'Hi'; "
        f"temperature: recorded 0.2, sent absent. {RECORD_HINT}"
    )
    assert result.message == snapshot


def test_a_miss_builds_its_report_once_and_only_when_read() -> None:
    built: list[MissReport] = []

    def build() -> MissReport:
        built.append(MissReport("no match", "chat/plain", ("model: recorded 'a', sent 'b'",)))
        return built[-1]

    result = Miss(build)
    assert built == []  # a synthesizing server never reads it, so it never pays for the nearest-miss walk
    assert (result.message, result.closest, result.diffs) == (
        "no match",
        "chat/plain",
        ("model: recorded 'a', sent 'b'",),
    )
    assert result.report() is built[0]
    assert len(built) == 1


def test_a_miss_with_nothing_at_that_route_lists_the_recorded_routes() -> None:
    matcher = Matcher(
        [
            cassette("a", interaction(post(chat_body()))),
            cassette("b", interaction(RecordedRequest("GET", "/v1/models"))),
        ]
    )
    result = miss(matcher.match(RecordedRequest("GET", "/v1/chat/completions")))
    assert result.closest is None
    assert result.message == (
        "no recorded interaction matches GET /v1/chat/completions. Nothing in the cassettes has "
        f"GET /v1/chat/completions; recorded: GET /v1/models, POST {CHAT}. {RECORD_HINT}"
    )
    scoped = miss(matcher.match(RecordedRequest("GET", "/v1/health/ready"), scope="b"))
    assert "Nothing in cassette b has GET /v1/health/ready; recorded: GET /v1/models." in scoped.message
    assert "Nothing is recorded at all." in miss(Matcher([]).match(RecordedRequest("GET", "/"))).message


def test_the_closest_candidate_has_the_fewest_differing_leaves() -> None:
    matcher = Matcher(
        [
            cassette("far", interaction(post({"a": 1, "b": 2, "c": 3}))),
            cassette(
                "near",
                interaction(post({"a": 9, "b": 9, "c": 9})),
                interaction(post({"a": 1, "b": 2, "c": 4})),
            ),
        ]
    )
    result = miss(matcher.match(post({"a": 1, "b": 2, "c": 5})))
    assert result.closest == "far"
    assert "interaction #1" in result.message
    result = miss(matcher.match(post({"a": 1, "b": 2, "c": 4, "d": 0})))
    assert result.closest == "near"
    assert "(interaction #2, file cassettes/near.json)" in result.message


def test_diffs_are_capped_and_values_shortened() -> None:
    recorded = {f"k{n:02d}": n for n in range(30)}
    matcher = Matcher([cassette("c", interaction(post({**recorded, "long": "x" * 200})))])
    result = miss(matcher.match(post({"long": "y" * 200})))
    assert len(result.diffs) == 21
    assert result.diffs[-1] == "and 11 more"
    assert result.diffs[0] == "k00: recorded 0, sent absent"
    long_line = next(line for line in miss(matcher.match(post({**recorded, "long": "z"}))).diffs)
    assert long_line == f"long: recorded '{'x' * 58}…, sent 'z'"


def test_same_leaves_in_a_different_shape_still_explain_the_miss() -> None:
    matcher = Matcher([cassette("c", interaction(post({"a": [1]})))])
    result = miss(matcher.match(post({"a": {"0": 1}})))
    assert result.diffs == (
        'body: recorded {"a":[1]}, sent {"a":{"0":1}} (same leaves, different structure)',
    )


def test_a_cassette_without_a_source_file_is_named_without_one() -> None:
    matcher = Matcher([Cassette("mem", (interaction(post({"a": 1})),))])
    assert (
        "Closest: mem (interaction #1); differs at: a: recorded 1, sent 2."
        in miss(matcher.match(post({"a": 2}))).message
    )


# --- the helpers ------------------------------------------------------------------------------------------


def test_flatten_and_diff_leaves() -> None:
    leaves = flatten({"a": [1, {"b": None}], "c": {}, "d": []})
    assert leaves == {"a.0": 1, "a.1.b": None, "c": {}, "d": []}
    assert list(leaves) == ["a.0", "a.1.b", "c", "d"]
    assert diff_leaves({"x": 1, "y": True, "t": 0}, {"x": "1", "z": 2, "t": 0.0}) == [
        ("x", 1, "1"),
        ("y", True, ABSENT),
        ("z", ABSENT, 2),
    ]


def test_describe_value() -> None:
    assert describe_value("it's") == '"it\'s"'
    assert describe_value(None) == "null"
    assert describe_value(True) == "true"
    assert describe_value(ABSENT) == "absent"
    assert describe_value({"a": [1, 2]}) == '{"a":[1,2]}'
    assert len(describe_value("z" * 500)) == 60


# --- scale ------------------------------------------------------------------------------------------------


def test_five_hundred_cassettes_each_answer_their_own_request() -> None:
    cassettes = [
        cassette(
            f"suite/case{n:03d}", interaction(post(chat_body(f"question {n}", seed=n))), ignore=("seed",)
        )
        for n in range(500)
    ]
    cassettes.append(cassette("zz/models", interaction(RecordedRequest("GET", "/v1/models"))))
    matcher = Matcher(cassettes, ignore=["stream"])
    for n in (0, 137, 499):
        found = hit(matcher.match(post(chat_body(f"question {n}", seed=-1, stream=True))))
        assert found.cassette.name == f"suite/case{n:03d}"
    result = miss(matcher.match(post(chat_body("question 77x"))))
    assert result.closest == "suite/case077"  # all are one leaf away; the likest prompt wins
    assert result.diffs == ("messages.0.content: recorded 'question 77', sent 'question 77x'",)


# --- replay order as a property ------------------------------------------------------------------------


@given(
    st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=8),
    st.lists(st.integers(min_value=0, max_value=3), max_size=20),
)
def test_replay_order_follows_the_reference_model(recorded: list[int], sent: list[int]) -> None:
    """Request k gets the next interaction recorded for k, cycling; one absent from the cassette misses."""
    matcher = Matcher([cassette("c", *(interaction(post({"q": q})) for q in recorded))])
    played: dict[int, int] = {}
    for q in sent:
        positions = [index for index, r in enumerate(recorded) if r == q]
        result = matcher.match(post({"q": q}))
        if not positions:
            assert isinstance(result, Miss)
            continue
        expected = positions[played.get(q, 0) % len(positions)]
        played[q] = played.get(q, 0) + 1
        assert hit(result).index == expected


@given(json_objects, json_values, json_values)
def test_whatever_sits_at_an_ignored_path_never_matters(body: dict[str, Any], a: Any, b: Any) -> None:
    matcher = Matcher([cassette("c", interaction(post({**body, "seed": a})))], ignore=["seed"])
    assert isinstance(matcher.match(post({**body, "seed": b})), Hit)
    assert isinstance(matcher.match(post({k: v for k, v in body.items() if k != "seed"})), Hit)


def test_concurrent_matching_plays_each_interaction_equally() -> None:
    request = post(chat_body())
    matcher = Matcher([cassette("c", *(interaction(request, 200 + n) for n in range(4)))])
    with ThreadPoolExecutor(max_workers=4) as pool:
        indices = list(pool.map(lambda _: hit(matcher.match(request)).index, range(400)))
    assert Counter(indices) == {0: 100, 1: 100, 2: 100, 3: 100}


_flat_objects = st.dictionaries(st.from_regex(r"[a-z]{1,5}", fullmatch=True), json_scalars, max_size=10)


@given(_flat_objects, _flat_objects)
def test_the_miss_lists_exactly_the_differing_fields(recorded: dict[str, Any], sent: dict[str, Any]) -> None:
    def differs(key: str) -> bool:
        if key not in recorded or key not in sent:
            return True
        return canonical_text(recorded[key]) != canonical_text(sent[key])  # 1 == 1.0; true differs

    expected = sorted(key for key in {*recorded, *sent} if differs(key))
    result = Matcher([cassette("c", interaction(post(recorded)))]).match(post(sent))
    if not expected:
        assert isinstance(result, Hit)
        return
    assert sorted(line.split(":", 1)[0] for line in miss(result).diffs) == expected


def test_an_explicit_stream_false_matches_a_recording_without_stream() -> None:
    """langchain-nvidia-ai-endpoints sends ``"stream": false``; the openai SDK leaves it out."""
    recorded = RecordedRequest("POST", "/v1/chat/completions", body={"model": "m", "messages": []})
    answer = RecordedResponse(200, body=b"{}")
    matcher = Matcher([Cassette("c", (Interaction(recorded, answer),))])
    sent = RecordedRequest(
        "POST", "/v1/chat/completions", body={"model": "m", "messages": [], "stream": False}
    )
    assert isinstance(matcher.match(sent), Hit)
    streamed = RecordedRequest(
        "POST", "/v1/chat/completions", body={"model": "m", "messages": [], "stream": True}
    )
    assert isinstance(matcher.match(streamed), Miss)


# --- playback without repeats, and what was never played ----------------------------------------


def test_without_repeats_each_interaction_answers_once_then_a_miss_says_so() -> None:
    first, second = interaction(post(chat_body()), 429), interaction(post(chat_body()), 200)
    matcher = Matcher([cassette("chat/retry", first, second)], repeats=False)
    assert [hit(matcher.match(post(chat_body()))).index for _ in range(2)] == [0, 1]
    message = miss(matcher.match(post(chat_body()))).message
    assert message.startswith(
        f"no recorded interaction is left for POST {CHAT}: cassette chat/retry holds 2 matching "
        "interaction(s) and each was already played once"
    )
    matcher.reset()
    assert hit(matcher.match(post(chat_body()))).index == 0


def test_unplayed_lists_what_no_request_was_answered_with() -> None:
    hello, other = interaction(post(chat_body())), interaction(post(chat_body("Bye")))
    recorded = cassette("chat/two", hello, other)
    matcher = Matcher([recorded])
    assert matcher.unplayed() == [(recorded, 0), (recorded, 1)]
    hit(matcher.match(post(chat_body("Bye"))))
    assert matcher.unplayed() == [(recorded, 0)]
    matcher.reset("chat/two")
    assert matcher.unplayed() == [(recorded, 0), (recorded, 1)]
