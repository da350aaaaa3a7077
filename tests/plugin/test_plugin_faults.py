"""Faults for one test through the plugin: the ``nim`` marker's ``faults=`` and ``nim_harness_faults``."""

from __future__ import annotations

import pytest
from plugin_runs import run

PLAIN = """
import pytest
from nim_harness import APIConnectionError, RateLimitError, ServerError

QUESTION = "In one sentence, what is NVIDIA NIM?"
RECORDED = {"temperature": 0.2, "top_p": 0.7, "max_tokens": 1024, "timeout": 5.0}
"""


def test_marker_faults_apply_to_that_test_only(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_inner_marker=PLAIN
        + """
@pytest.mark.nim(cassette="chat/plain", faults="429;retry_after=0.05")
def test_throttled(nim_harness_chat):
    with pytest.raises(RateLimitError) as caught:
        nim_harness_chat(max_retries=1, **RECORDED).invoke(QUESTION)
    assert caught.value.retries == 1

@pytest.mark.nim(cassette="chat/plain", faults=[{"when": {"first": 1}, "fault": "503"}])
def test_recovers(nim_harness_chat, nim_harness_faults):
    assert "NIM" in nim_harness_chat(max_retries=2, **RECORDED).invoke(QUESTION).content
    assert [a.labels for a in nim_harness_faults.applied] == [("503 <rules[0]>",)]

@pytest.mark.nim(cassette="chat/plain")
def test_untouched(nim_harness_chat):
    assert "NIM" in nim_harness_chat(max_retries=0, **RECORDED).invoke(QUESTION).content
"""
    )
    run(project, "--strict-markers").assert_outcomes(passed=3)


def test_the_fixture_changes_faults_mid_test_and_202_polls_reach_the_mock(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_inner_fixture=PLAIN
        + """
@pytest.mark.nim(cassette="chat/plain")
def test_healthy_then_polled(nim_harness_chat, nim_harness_faults):
    llm = nim_harness_chat(max_retries=0, **RECORDED)
    healthy = llm.invoke(QUESTION).content
    nim_harness_faults.set("202;polls=2, latency;ms=10")
    assert llm.invoke(QUESTION).content == healthy
    assert [a.labels for a in nim_harness_faults.applied] == [
        ("202 polls=2 <marker>", "latency ms=10 <marker>"),
        ("202 polled 2x, answering request 1",),
    ]
    nim_harness_faults.set({"when": {"every": 2}, "fault": {"kind": "server_error", "status": 500}}, seed=4)
    assert llm.invoke(QUESTION).content == healthy
    with pytest.raises(ServerError):
        llm.invoke(QUESTION)
    nim_harness_faults.clear()
    assert llm.invoke(QUESTION).content == healthy
"""
    )
    run(project).assert_outcomes(passed=1)


def test_synthesize_without_a_cassette_takes_faults_too(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_inner_synth=PLAIN
        + """
@pytest.mark.nim(on_miss="synthesize", faults="cut;after=2")
def test_cut(nim_harness_chat, nim_harness_model):
    with pytest.raises(APIConnectionError, match="dropped after 2 event"):
        list(nim_harness_chat(max_retries=0, timeout=5.0).stream("Anything at all"))
"""
    )
    run(project).assert_outcomes(passed=1)


def test_bad_faults_fail_the_test_naming_the_field(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_inner_bad=PLAIN
        + """
@pytest.mark.nim(cassette="chat/plain", faults={"when": {"every": 0}, "fault": "429"})
def test_bad_rule(nim_harness_base_url):
    pass

@pytest.mark.nim(cassette="chat/plain", faults=42)
def test_bad_type(nim_harness_base_url):
    pass

@pytest.mark.nim(cassette="chat/plain", on_miss="invent")
def test_bad_on_miss(nim_harness_base_url):
    pass

@pytest.mark.nim(cassette="chat/plain")
def test_bad_set(nim_harness_faults):
    nim_harness_faults.set("cut;after=soon")
"""
    )
    result = run(project)
    result.assert_outcomes(errors=3, failed=1)
    output = result.stdout.str()
    assert "During handling" not in output
    for message in [
        "nim-harness: nim(faults=...): rules[0].when.every: must be a whole number >= 1, got 0",
        "nim(faults=...) takes a header-syntax string such as '429;retry_after=1'",
        "nim(on_miss=...) must be 'error' or 'synthesize', got 'invent'",
        "nim_harness_faults.set: nim(faults='cut;after=soon'): x-nim-mock-fault fault 1.after: must be a "
        "whole",
    ]:
        assert message in output


def test_faults_from_a_rules_file_under_the_rootdir(project: pytest.Pytester) -> None:
    project.makefile(".json", faults='{"seed": 2, "rules": [{"fault": "500"}]}')
    project.makepyfile(
        test_inner_file=PLAIN
        + """
@pytest.mark.nim(cassette="chat/plain", faults="faults.json")
def test_from_file(nim_harness_chat):
    with pytest.raises(ServerError, match="HTTP 500"):
        nim_harness_chat(max_retries=0, **RECORDED).invoke(QUESTION)
"""
    )
    run(project).assert_outcomes(passed=1)


def test_faults_are_skipped_outside_mock_mode(project: pytest.Pytester, upstream: str) -> None:
    project.makepyfile(
        test_inner_live="""
import pytest

@pytest.mark.nim(cassette="chat/plain", faults="429")
def test_marker(nim_harness_base_url):
    pass

def test_fixture(nim_harness_faults):
    pass
"""
    )
    result = run(project, f"--nim-harness-endpoint={upstream}/v1", "-rs", mode="live")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*nim-harness injects faults in mock mode only*"])
