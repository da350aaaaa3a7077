"""Faults for one test: the ``nim`` marker's ``faults=`` argument and the ``nim_harness_faults`` fixture.

Why both: the marker states a test's faults next to its name, where a reader looks first; the
fixture changes them half-way through a test (healthy first call, then a throttled one) and shows
what was applied. Either way the faults live in that test's own mock app, so no other test (and no
other xdist worker) ever sees them, and they exist only in mock mode: a live endpoint cannot be
made to fail on cue, so a test that needs a fault is skipped there with the reason.

Accepted forms, for the marker and for :meth:`NimFaults.set` alike:

- a header-syntax string, applied to every request: ``"429;retry_after=0.2"``;
- one rule object: ``{"when": {"first": 2}, "fault": "503"}``;
- a list of rule objects;
- a whole rules file's object (``{"seed": 3, "rules": [...]}``);
- a path to a rules file (``pathlib.Path``, or a string ending in ``.json``), relative to the rootdir.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from nim_mock.plugin.options import Mode, Settings

if TYPE_CHECKING:  # loaded by the fault functions: the plugin imports this module in every run
    from nim_mock.faults.kinds import FaultRules
    from nim_mock.faults.plan import Applied, FaultPlan

__all__ = [
    "FAULTS_ONLY_IN_MOCK",
    "MOCK_PLAN_KEY",
    "NimFaults",
    "check_faults_value",
    "marker_rules",
    "nim_harness_faults",
    "rules_from_value",
]

MOCK_PLAN_KEY = pytest.StashKey["FaultPlan"]()
"""Per test (mock mode): the fault plan of the test's own mock app."""

FAULTS_ONLY_IN_MOCK = (
    "nim-harness injects faults in mock mode only (a live endpoint cannot fail on cue); "
    "run with --nim-mode=mock"
)


def check_faults_value(value: object) -> None:
    """A quick shape check for the marker (the full check needs the rootdir, see :func:`rules_from_value`)."""
    if not isinstance(value, str | Path | Mapping | list):
        raise ValueError(
            "nim(faults=...) takes a header-syntax string such as '429;retry_after=1', a rule object, "
            f"a list of rules, a rules file's object or a path to one; got {type(value).__name__}"
        )


def rules_from_value(value: object, rootdir: Path) -> FaultRules:
    """Rules from any accepted form; a :class:`FaultRulesError` says what is wrong and where."""
    from nim_mock.faults.kinds import FaultRulesError
    from nim_mock.faults.rules import load_fault_rules, parse_fault_rules, parse_header

    check_faults_value(value)
    if isinstance(value, Path) or (isinstance(value, str) and value.strip().endswith(".json")):
        path = Path(value)
        return load_fault_rules(path if path.is_absolute() else rootdir / path)
    if isinstance(value, str):
        try:
            parse_header(value)
        except FaultRulesError as error:
            raise FaultRulesError(f"nim(faults={value!r}): {error}") from None
        return parse_fault_rules({"rules": [{"name": "marker", "fault": value}]}, "nim(faults=...)")
    if isinstance(value, Mapping) and "fault" in value:
        return parse_fault_rules({"rules": [dict(value)]}, "nim(faults=...)")
    if isinstance(value, list):
        return parse_fault_rules({"rules": value}, "nim(faults=...)")
    return parse_fault_rules(value, "nim(faults=...)")


class NimFaults:
    """This test's faults, changeable while it runs (the ``nim_harness_faults`` fixture's value)."""

    def __init__(self, plan: FaultPlan, rootdir: Path) -> None:
        self._plan = plan
        self._rootdir = rootdir

    def set(self, faults: Any, *, seed: int | None = None) -> None:
        """Use ``faults`` (any form the module docstring lists) from the next request on."""
        from nim_mock.faults.kinds import FaultRules, FaultRulesError

        try:
            rules = rules_from_value(faults, self._rootdir)
        except (FaultRulesError, ValueError) as error:
            problem = f"nim_harness_faults.set: {error}"
        else:
            self._plan.replace(rules if seed is None else FaultRules(rules.rules, seed))
            return
        pytest.fail(problem, pytrace=False)  # outside the except: no chained traceback in the report

    def clear(self) -> None:
        """No more rule faults (a request's own ``x-nim-mock-fault`` header still works)."""
        from nim_mock.faults.kinds import FaultRules

        self._plan.replace(FaultRules())

    @property
    def applied(self) -> list[Applied]:
        """The requests that got faults so far: number, path and what took effect."""
        return self._plan.applied


def marker_rules(value: object, rootdir: Path) -> FaultRules | None:
    """The marker's faults for ``create_app``, or a failed test saying what is wrong with them."""
    if value is None:
        return None
    from nim_mock.faults.kinds import FaultRulesError

    try:
        return rules_from_value(value, rootdir)
    except (FaultRulesError, ValueError) as error:
        problem = f"nim-harness: {error}"
    pytest.fail(problem, pytrace=False)  # outside the except: no chained traceback in the report


@pytest.fixture
def nim_harness_faults(
    request: pytest.FixtureRequest, nim_harness_base_url: str, nim_harness_settings: Settings
) -> NimFaults:
    """This test's faults (mock mode; skipped otherwise): ``nim_harness_faults.set("429;retry_after=0.2")``.

    Starts with the ``nim`` marker's ``faults=``, if any; ``applied`` lists what took effect.
    """
    if nim_harness_settings.mode is not Mode.MOCK:
        pytest.skip(FAULTS_ONLY_IN_MOCK)
    return NimFaults(request.node.stash[MOCK_PLAN_KEY], request.config.rootpath)
