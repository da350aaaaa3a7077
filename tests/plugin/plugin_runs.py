"""Helpers for the in-process ``pytester`` runs of the plugin.

In-process runs read the outer process's environment, so every run names ``--nim-mode`` and
``--nim-harness-cassettes`` on the command line (which beats the environment): a ``NIM_MODE`` exported in
the shell cannot change these outcomes. Rules that need a controlled environment are tested in
``test_plugin_subprocess.py``.
"""

from __future__ import annotations

import pytest

SHARED_TEST = """
import json, pytest

def recorded_body(name):
    with open(f"cassettes/{name}.json") as f:
        return json.load(f)["interactions"][0]["request"]["json"]
"""


LEAN = tuple(f"-pno:{name}" for name in ("langsmith_plugin", "codspeed", "benchmark", "recording", "syrupy"))
"""Installed plugins these runs do not need: each costs set-up time in every run (and xdist worker)."""


def run(pytester: pytest.Pytester, *args: str, mode: str = "mock") -> pytest.RunResult:
    """Run pytest in-process with the mode and cassette folder given on the command line."""
    return pytester.runpytest(
        "-p", "no:cacheprovider", *LEAN, f"--nim-mode={mode}", "--nim-harness-cassettes=cassettes", *args
    )
