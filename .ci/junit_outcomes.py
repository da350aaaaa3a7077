"""Test outcomes from pytest's --junitxml files, for .ci/live.sh.

    python .ci/junit_outcomes.py counts RUN.xml
        prints "passed=N skipped=N failed=N errors=N"
    python .ci/junit_outcomes.py compare live=LIVE.xml record=RECORD.xml mock=MOCK.xml
        exit 0 when every test has the same outcome in every run; else lists each test that differs
        and exits 1

A test that reports twice (its call failed, then its teardown errored) keeps the worse outcome.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

OUTCOMES = ("passed", "skipped", "failed", "errors")
_WORSE_FIRST = ("errors", "failed", "skipped", "passed")


def outcomes(path: Path) -> dict[str, str]:
    """Each test's outcome (one of ``OUTCOMES``), keyed ``classname::name``."""
    found: dict[str, str] = {}
    for case in ET.parse(path).iter("testcase"):
        kinds = {child.tag for child in case}
        outcome = (
            "errors"
            if "error" in kinds
            else "failed"
            if "failure" in kinds
            else "skipped"
            if "skipped" in kinds
            else "passed"
        )
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        earlier = found.get(test_id)
        if earlier is None or _WORSE_FIRST.index(outcome) < _WORSE_FIRST.index(earlier):
            found[test_id] = outcome
    return found


def counts(path: Path) -> str:
    tally = dict.fromkeys(OUTCOMES, 0)
    for outcome in outcomes(path).values():
        tally[outcome] += 1
    return " ".join(f"{key}={value}" for key, value in tally.items())


def differences(runs: dict[str, dict[str, str]]) -> list[str]:
    """One line per test whose outcome is not the same in every run."""
    every_test = sorted(set().union(*runs.values()))
    lines = []
    for test_id in every_test:
        seen = {name: found.get(test_id, "not run") for name, found in runs.items()}
        if len(set(seen.values())) > 1:
            lines.append(f"  {test_id}: " + ", ".join(f"{name} {outcome}" for name, outcome in seen.items()))
    return lines


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "counts":
        print(counts(Path(argv[1])))
        return 0
    if len(argv) >= 3 and argv[0] == "compare" and all("=" in arg for arg in argv[1:]):
        runs = {name: outcomes(Path(path)) for name, path in (arg.split("=", 1) for arg in argv[1:])}
        names = " / ".join(runs)
        lines = differences(runs)
        if lines:
            print(f"{names}: {len(lines)} test(s) differ:")
            print("\n".join(lines))
            return 1
        print(f"{names}: the same outcome for all {len(next(iter(runs.values())))} tests")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
