"""Drift in live mode: how each exchange a test made differs in shape from its cassette.

Mock mode is only as good as its cassettes. In live mode the plugin watches each exchange a test
makes (``_plugin_tee``) and hands them here with the test's cassette. What counts as drift (status,
body kind, JSON layout, finish reasons, tool calls, usage, event count range, ``[DONE]``) is
``_drift.compare_shape``'s business, shared with everything else that compares recordings; this
module only pairs exchanges the way the mock would replay them, labels each sentence with the
exchange it is about, and keeps the terminal summary short. Drift never fails a test (the test's
own assertions do that).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from nim_mock._drift import compare_shape
from nim_mock.cassette import Interaction

__all__ = ["describe_drift"]

_MAX_LINES: Final = 12


def describe_drift(recorded: Sequence[Interaction], live: Sequence[Interaction]) -> list[str]:
    """Sentences describing how ``live`` exchanges differ in shape from ``recorded`` ones."""
    lines: list[str] = []
    if not recorded:
        return lines
    # Compared in order and cyclically, as the mock replays them: how many exchanges a test makes
    # is the test's business (tests may share a cassette), not the server's.
    pairs = [(recorded[index % len(recorded)], new) for index, new in enumerate(live)]
    for index, (old, new) in enumerate(pairs, start=1):
        where = f"#{index} {new.request.method} {new.request.path}"
        if (old.request.method, old.request.path) != (new.request.method, new.request.path):
            lines.append(f"{where}: recorded {old.request.method} {old.request.path} at this position")
            continue
        lines.extend(f"{where}: {line}" for line in compare_shape(old, new))
    if len(lines) > _MAX_LINES:
        lines = [*lines[:_MAX_LINES], f"... and {len(lines) - _MAX_LINES} more"]
    return lines
