"""``python -m tests.conformance --a URL --b URL``: send every case to two servers and compare.

    python -m tests.conformance --a http://127.0.0.1:18100/v1 --b http://127.0.0.1:8000/v1
        [--model ID] [--threshold PERCENT] [--only PREFIX ...] [--list]
        [--save-b FILE] [--same-bytes FILE] [--timeout S]

Each case goes to A, then to B, one at a time in table order (identical requests replay in order,
so a recording of one run answers the next). The report lists every disagreement as
``case: field: A value | B value`` and ends with ``N/M agree (P%)`` and the run time.

``--save-b FILE`` keeps B's answers byte for byte (run it with B = ``nim-mock record``'s proxy to keep
what the real server sent); ``--same-bytes FILE`` then also requires B's answers to equal those
bytes, one more disagreement (field ``bytes``) per case that differs: the check for a mock that
replays the recording.

Exit status: 0 when the share of agreeing cases reaches ``--threshold`` (default 100), 1 below it,
2 for bad arguments or a server that cannot be reached at all.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import httpx

from nim_mock._cli_args import finite_number

from .cases import DEFAULT_MODEL, Case, cases
from .compare import Outcome, agreement_line, compare, compare_bytes, format_report
from .observe import Answer, Observation, observe
from .send import load_answers, save_answers, send

__all__ = ["Battery", "Unreachable", "main", "observed", "run_battery"]

EXIT_OK = 0
EXIT_BELOW_THRESHOLD = 1
EXIT_USAGE = 2


class Unreachable(Exception):
    """A server answered none of the battery's requests (wrong URL, or not started)."""


class Battery:
    """The battery's results for one run: each case's outcome, and the raw answers of both sides."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.a: dict[str, Answer] = {}
        self.b: dict[str, Answer] = {}

    @property
    def share(self) -> float:
        """Percentage of cases that agree (100 for an empty battery)."""
        if not self.outcomes:
            return 100.0
        return 100.0 * sum(o.agrees for o in self.outcomes) / len(self.outcomes)


def observed(client: httpx.Client, base_url: str, case: Case) -> tuple[Answer | None, Observation]:
    """The answer and its observation; a request that got no HTTP answer is observed as such."""
    try:
        answer = send(client, base_url, case)
    except httpx.TransportError as error:
        return None, {"status": f"no answer ({type(error).__name__})"}
    return answer, observe(answer)


def run_battery(
    a_url: str,
    b_url: str,
    battery: Sequence[Case],
    *,
    timeout: float = 120.0,
    expected_b: dict[str, Answer] | None = None,
    progress: Callable[[Case, Outcome], None] | None = None,
) -> Battery:
    """Send each case to A then B and compare; raises ``Unreachable`` when a side never answers."""
    result = Battery()
    answered = {"A": False, "B": False}
    with httpx.Client(timeout=timeout) as client:
        for case in battery:
            a_answer, a_seen = observed(client, a_url, case)
            b_answer, b_seen = observed(client, b_url, case)
            outcome = compare(case.name, a_seen, b_seen)
            if expected_b is not None and b_answer is not None:
                found = compare_bytes(case.name, expected_b.get(case.name), b_answer).disagreements
                outcome = Outcome(case.name, outcome.disagreements + found)
            for side, answer, store in (("A", a_answer, result.a), ("B", b_answer, result.b)):
                if answer is not None:
                    answered[side] = True
                    store[case.name] = answer
            result.outcomes.append(outcome)
            if progress is not None:
                progress(case, outcome)
    for side, url in (("A", a_url), ("B", b_url)):
        if battery and not answered[side]:
            raise Unreachable(f"{side} ({url}) answered none of the {len(battery)} requests; is it running?")
    return result


def _base_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http(s) base URL, e.g. http://127.0.0.1:8000/v1"
        )
    return text.rstrip("/")


_non_negative_percent = finite_number("percentage")
_seconds = finite_number("number of seconds", above_zero=True)


def _percent(text: str) -> float:
    value = _non_negative_percent(text)
    if value > 100.0:
        raise argparse.ArgumentTypeError(f"{text!r} is over 100 (a percentage of the cases)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.conformance",
        description="Send the conformance battery to two OpenAI-compatible servers and compare what a "
        "client observes.",
    )
    parser.add_argument("--a", type=_base_url, metavar="URL", help="base URL of server A (e.g. vLLM)")
    parser.add_argument("--b", type=_base_url, metavar="URL", help="base URL of server B (e.g. the mock)")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"model id both serve (default {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--threshold",
        type=_percent,
        default=100.0,
        metavar="PERCENT",
        help="exit 1 when fewer cases than this agree (default 100)",
    )
    parser.add_argument(
        "--only", nargs="+", default=[], metavar="PREFIX", help="run only cases whose name starts so"
    )
    parser.add_argument("--list", action="store_true", help="print the case names and exit")
    parser.add_argument("--save-b", type=Path, metavar="FILE", help="write B's raw answers to FILE")
    parser.add_argument(
        "--same-bytes",
        type=Path,
        metavar="FILE",
        help="also require B's answers to equal, byte for byte, those saved in FILE by --save-b",
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=120.0, metavar="S", help="per request (default 120)"
    )
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    stdout = out or sys.stdout
    stderr = err or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    battery = [c for c in cases(args.model) if not args.only or c.name.startswith(tuple(args.only))]
    if args.list:
        stdout.write("".join(f"{case.name}\t{case.method} {case.path}\n" for case in battery))
        return EXIT_OK
    if args.a is None or args.b is None:
        parser.print_usage(stderr)
        stderr.write("conformance: give both --a URL and --b URL (or --list)\n")
        return EXIT_USAGE
    if not battery:
        stderr.write(f"conformance: no case name starts with {' or '.join(args.only)}; see --list\n")
        return EXIT_USAGE
    expected: dict[str, Answer] | None = None
    if args.same_bytes is not None:
        try:
            expected = load_answers(args.same_bytes)
        except ValueError as error:
            stderr.write(f"conformance: {error}\n")
            return EXIT_USAGE
    stdout.write(f"conformance: {len(battery)} cases, A {args.a}, B {args.b}\n")
    started = time.monotonic()
    try:
        result = run_battery(args.a, args.b, battery, timeout=args.timeout, expected_b=expected)
    except Unreachable as error:
        stderr.write(f"conformance: {error}\n")
        return EXIT_USAGE
    elapsed = time.monotonic() - started
    if args.save_b is not None:
        save_answers(args.save_b, result.b)
    stdout.write(format_report(result.outcomes))
    stdout.write(f"conformance: {len(battery)} cases in {elapsed:.1f} s\n")
    if result.share < args.threshold:
        stderr.write(
            f"conformance: {agreement_line(result.outcomes)} is below --threshold {args.threshold:g}%\n"
        )
        return EXIT_BELOW_THRESHOLD
    return EXIT_OK
