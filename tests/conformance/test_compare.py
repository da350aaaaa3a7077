"""``compare`` finds exactly the fields that differ, and the report lists every one of them."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion

from .compare import ABSENT, Disagreement, Outcome, compare, compare_bytes, format_report
from .observe import Answer

_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
_observations = st.dictionaries(st.text(min_size=1, max_size=12), _json, max_size=8)


@given(_observations)
def test_an_observation_agrees_with_itself(seen: dict[str, Any]) -> None:
    assert compare("case", seen, dict(reversed(list(seen.items())))).agrees


@given(_observations, _observations)
def test_disagreements_are_symmetric(a: dict[str, Any], b: dict[str, Any]) -> None:
    forward = compare("case", a, b).disagreements
    backward = compare("case", b, a).disagreements
    assert [(d.field, d.a, d.b) for d in forward] == [(d.field, d.b, d.a) for d in backward]


@given(_observations, st.data())
def test_exactly_the_changed_and_the_dropped_fields_disagree(
    seen: dict[str, Any], data: st.DataObject
) -> None:
    fields = sorted(seen)
    changed = data.draw(st.sets(st.sampled_from(fields)) if fields else st.just(set()))
    dropped = data.draw(st.sets(st.sampled_from(fields)) if fields else st.just(set())) - changed
    other = {field: ["changed", value] if field in changed else value for field, value in seen.items()}
    for field in dropped:
        del other[field]
    assert {d.field for d in compare("case", seen, other).disagreements} == changed | dropped


def test_values_compare_as_json_a_client_parses() -> None:
    outcome = compare(
        "c", {"x": 1, "y": 1, "z": {"b": 1, "a": 2}}, {"x": True, "y": 1.0, "z": {"a": 2, "b": 1}}
    )
    assert [(d.field, d.a, d.b) for d in outcome.disagreements] == [("x", "1", "true"), ("y", "1", "1.0")]


def test_a_field_only_one_side_has_is_a_disagreement() -> None:
    outcome = compare("c", {"status": 200, "object": "chat.completion"}, {"status": 200})
    assert outcome.disagreements == (Disagreement("c", "object", '"chat.completion"', ABSENT),)
    assert not outcome.agrees


def test_bytes_agree_only_when_identical() -> None:
    answer = Answer(200, "application/json", b'{"a":1}')
    assert compare_bytes("c", answer, answer).agrees
    (found,) = compare_bytes("c", answer, Answer(200, "application/json", b'{"a":2}')).disagreements
    assert found.field == "bytes"
    assert "from byte 5" in found.a
    assert "from byte 5" in found.b
    (missing,) = compare_bytes("c", None, answer).disagreements
    assert missing.a == ABSENT


def test_report_lists_every_disagreement_then_the_agreement(snapshot: SnapshotAssertion) -> None:
    outcomes = [
        compare(
            "chat.plain", {"status": 200, "keys": ["choices", "id"]}, {"status": 200, "keys": ["choices"]}
        ),
        compare("model.unknown", {"status": 404, "error.type": "NotFoundError"}, {"status": 404}),
        Outcome("stream.plain", ()),
        compare("body.truncated", {"error.message": "x" * 300}, {"error.message": "y"}),
        compare(
            "n.two",
            {"choices[0].finish_reason": "stop", "choices[1].finish_reason": "stop"},
            {"choices[0].finish_reason": "length", "choices[1].finish_reason": "length"},
        ),
    ]
    report = format_report(outcomes)
    assert report.endswith("1/5 agree (20.0%)\n")
    assert "     1  choices[*].finish_reason\n" in report  # one case, however many choices
    assert report == snapshot
