"""The request path's shortcuts give the answers the long way gives: the matcher's memo by body bytes,
and canonical text rendered without the float walk when the text shows no integral float."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from strategies import json_values

from nim_mock.cassette import Cassette, Interaction, RecordedRequest, RecordedResponse
from nim_mock.cassettes.canonical import _integral_floats_as_ints, canonical_text
from nim_mock.serve.match import MEMO_ENTRIES, Hit, Matcher, Miss

CHAT = "/v1/chat/completions"


def _post(body: Any) -> RecordedRequest:
    return RecordedRequest("POST", CHAT, body=body)


def _matcher() -> Matcher:
    twice = {"model": "m", "messages": [{"role": "user", "content": "twice"}], "temperature": 0.0}
    once = {"model": "m", "messages": [{"role": "user", "content": "once"}]}
    interactions = (
        Interaction(_post(twice), RecordedResponse(429, body=b"first")),
        Interaction(_post(twice), RecordedResponse(200, body=b"second")),
        Interaction(_post(once), RecordedResponse(200, body=b"only")),
    )
    return Matcher([Cassette("chat/cycle", interactions)], ignore=("seed",))


def _answers(matcher: Matcher, raw: bytes, times: int, *, memo: bool) -> list[str]:
    body = json.loads(raw)
    answers = []
    for _ in range(times):
        result = matcher.match(_post(body), source=raw if memo else None)
        answers.append(result.interaction.response.body.decode() if isinstance(result, Hit) else "miss")
    return answers


def test_matching_by_source_bytes_cycles_through_interactions_as_matching_by_body_does() -> None:
    raw = b'{"messages":[{"role":"user","content":"twice"}],"model":"m","temperature":0,"seed":7}'
    with_memo = _answers(_matcher(), raw, 5, memo=True)
    assert with_memo == _answers(_matcher(), raw, 5, memo=False)
    assert with_memo == ["first", "second", "first", "second", "first"]


def test_a_remembered_miss_is_still_a_miss_with_its_full_report() -> None:
    matcher = _matcher()
    raw = b'{"model":"m","messages":[{"role":"user","content":"thrice"}]}'
    body = json.loads(raw)
    first, again = (matcher.match(_post(body), source=raw) for _ in range(2))
    assert isinstance(first, Miss)
    assert isinstance(again, Miss)
    assert again.message == first.message
    assert "messages.0.content: recorded 'once', sent 'thrice'" in again.message


def test_the_memo_keeps_at_most_its_size_and_the_oldest_bytes_are_matched_afresh() -> None:
    matcher = _matcher()
    once = b'{"model":"m","messages":[{"role":"user","content":"once"}]}'
    assert isinstance(matcher.match(_post(json.loads(once)), source=once), Hit)
    for n in range(MEMO_ENTRIES + 5):
        raw = json.dumps({"model": "m", "messages": [{"role": "user", "content": f"q{n}"}]}).encode()
        assert isinstance(matcher.match(_post(json.loads(raw)), source=raw), Miss)
    assert len(matcher._memo) == MEMO_ENTRIES
    assert isinstance(matcher.match(_post(json.loads(once)), source=once), Hit)


def test_a_scoped_match_is_remembered_apart_from_an_unscoped_one() -> None:
    matcher = _matcher()
    raw = b'{"model":"m","messages":[{"role":"user","content":"once"}]}'
    body = json.loads(raw)
    assert isinstance(matcher.match(_post(body), scope="chat/other", source=raw), Miss)
    assert isinstance(matcher.match(_post(body), source=raw), Hit)


def _reference(value: Any) -> str:
    """The canonical text the long way: every integral float written as an int, then rendered."""
    return json.dumps(
        _integral_floats_as_ints(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


_awkward = st.sampled_from([0.0, -0.0, 1.0, 2.5, 1e16, -1.5e17, 1e-7, 123456789.0, 0.5])


@given(json_values | st.lists(_awkward | st.text(alphabet="0.e+,]}", max_size=6), max_size=5))
def test_canonical_text_is_the_walked_rendering_whatever_the_floats_and_strings(value: Any) -> None:
    assert canonical_text(value) == _reference(value)


def test_integral_floats_written_any_way_repr_writes_them_are_rendered_as_ints() -> None:
    assert canonical_text({"a": 1e16, "b": -0.0, "c": [3.0, 0.25], "d": "1.0,"}) == (
        '{"a":10000000000000000,"b":0,"c":[3,0.25],"d":"1.0,"}'
    )


def test_matching_lazily_builds_the_request_only_when_the_bytes_are_new_or_a_miss_is_read() -> None:
    matcher = _matcher()
    built: list[bytes] = []

    def request_of(raw: bytes) -> RecordedRequest:
        built.append(raw)
        return _post(json.loads(raw))

    hit = b'{"model":"m","messages":[{"role":"user","content":"once"}]}'
    miss = b'{"model":"m","messages":[{"role":"user","content":"never"}]}'
    answers = [matcher.match_lazily("post", CHAT, lambda: request_of(hit), source=hit) for _ in range(3)]
    assert all(isinstance(answer, Hit) and answer.interaction.response.body == b"only" for answer in answers)
    assert built == [hit]  # parsed for the first request only; the memo answered the others
    missed = [matcher.match_lazily("POST", CHAT, lambda: request_of(miss), source=miss) for _ in range(2)]
    assert built == [hit, miss]
    assert all(isinstance(answer, Miss) for answer in missed)
    assert "sent 'never'" in missed[1].message
    assert built == [hit, miss, miss]  # the report of the miss that was read
