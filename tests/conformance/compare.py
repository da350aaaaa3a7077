"""Comparing two servers' observations of one case, and the battery's report: pure, no I/O.

Values are compared as canonical JSON text, so ``1`` and ``true`` or ``1`` and ``1.0`` differ (a
client's parser sees them differently) while key order never matters. A field only one side has
is a disagreement too; its other value is shown as ``(absent)``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .observe import Answer

__all__ = [
    "ABSENT",
    "Disagreement",
    "Outcome",
    "agreement_line",
    "compare",
    "compare_bytes",
    "describe_answer",
    "format_report",
]

ABSENT = "(absent)"
_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One field of one case on which A and B differ; the values are canonical JSON (or ``ABSENT``)."""

    case: str
    field: str
    a: str
    b: str

    def __str__(self) -> str:
        return f"{self.case}: {self.field}: A {self.a} | B {self.b}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A case's verdict: it agrees when there is no disagreement."""

    case: str
    disagreements: tuple[Disagreement, ...]

    @property
    def agrees(self) -> bool:
        return not self.disagreements


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def compare(case: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> Outcome:
    """Every field where ``a`` and ``b`` differ, in field-name order."""
    found = []
    for field in sorted(a.keys() | b.keys()):
        left = _canonical(a[field]) if field in a else ABSENT
        right = _canonical(b[field]) if field in b else ABSENT
        if left != right:
            found.append(Disagreement(case, field, left, right))
    return Outcome(case, tuple(found))


def agreement_line(outcomes: Sequence[Outcome]) -> str:
    """``N/M agree (P%)``: N cases of M had no disagreement."""
    agreed = sum(outcome.agrees for outcome in outcomes)
    total = len(outcomes)
    share = 100.0 * agreed / total if total else 100.0
    return f"{agreed}/{total} agree ({share:.1f}%)"


def format_report(outcomes: Iterable[Outcome], *, limit: int = 240) -> str:
    """Every disagreement on its own line (values cut to ``limit`` characters), then how many cases
    disagree on each field (choice indices folded: ``choices[*]``), then the agreement line."""
    outcomes = list(outcomes)
    lines = [
        f"{found.case}: {found.field}: A {_clip(found.a, limit)} | B {_clip(found.b, limit)}"
        for outcome in outcomes
        for found in outcome.disagreements
    ]
    tally = Counter(
        field for outcome in outcomes for field in {_fold(d.field) for d in outcome.disagreements}
    )
    if tally:
        lines.append("cases disagreeing, by field:")
        lines.extend(
            f"{count:6d}  {field}" for field, count in sorted(tally.items(), key=lambda t: (-t[1], t[0]))
        )
    lines.append(agreement_line(outcomes))
    return "\n".join(lines) + "\n"


def _fold(field: str) -> str:
    return _INDEX.sub("[*]", field)


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."


def compare_bytes(case: str, expected: Answer | None, actual: Answer) -> Outcome:
    """Whether ``actual`` is byte for byte ``expected`` (status, ``content-type``, body), as a replay is."""
    if expected is None:
        return Outcome(case, (Disagreement(case, "bytes", ABSENT, describe_answer(actual)),))
    if expected == actual:
        return Outcome(case, ())
    where = next(
        (i for i, (x, y) in enumerate(zip(expected.body, actual.body, strict=False)) if x != y),
        min(len(expected.body), len(actual.body)),
    )
    return Outcome(
        case,
        (
            Disagreement(
                case,
                "bytes",
                describe_answer(expected, where),
                describe_answer(actual, where),
            ),
        ),
    )


def describe_answer(answer: Answer, at: int | None = None) -> str:
    """Status, media type and size of an answer; with ``at``, the body from that offset (a difference)."""
    text = f"{answer.status} {answer.content_type or '-'} {len(answer.body)} bytes"
    if at is None:
        return text
    return f"{text}, from byte {at}: {answer.body[at : at + 60]!r}"
