"""pytest-recording's ``--block-network`` in mock mode: a failure naming the flag, or a pass once allowed."""

from __future__ import annotations

import pytest
from plugin_runs import LEAN

PLAIN = """
import pytest

@pytest.mark.nim(cassette="chat/plain")
def test_plain(nim_harness_chat):
    llm = nim_harness_chat(temperature=0.2, max_tokens=1024, top_p=0.7)
    assert llm.invoke("In one sentence, what is NVIDIA NIM?").content
"""

WITH_RECORDING = tuple(flag for flag in LEAN if flag != "-pno:recording")


def run_with_recording(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest(
        "-p",
        "no:cacheprovider",
        *WITH_RECORDING,
        "--nim-mode=mock",
        "--nim-harness-cassettes=cassettes",
        *args,
    )


@pytest.mark.parametrize(
    "allowing",
    [["--allowed-hosts=127.0.0.1,localhost"], ["--allow-private-ips"]],
)
def test_blocked_loopback_fails_naming_the_flag_and_allowing_it_passes(
    project: pytest.Pytester, allowing: list[str]
) -> None:
    project.makepyfile(test_inner_blocked=PLAIN)
    blocked = run_with_recording(project, "--block-network")
    blocked.assert_outcomes(errors=1)
    blocked.stdout.fnmatch_lines(
        [
            "*pytest-recording's --block-network blocks the nim-harness mock on 127.0.0.1: allow it with "
            "--allowed-hosts=127.0.0.1,localhost*"
        ]
    )
    run_with_recording(project, "--block-network", *allowing).assert_outcomes(passed=1)


def test_without_block_network_nothing_changes(project: pytest.Pytester) -> None:
    project.makepyfile(test_inner_blocked=PLAIN)
    run_with_recording(project).assert_outcomes(passed=1)
