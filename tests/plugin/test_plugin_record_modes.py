"""Record modes (pytest-recording's names and meanings) and playback: repeats and unplayed interactions.

Whole pytest runs in-process (``pytester``) against the loopback upstream of ``plugin_upstream``:
every recorded answer there echoes ``"echo": ""`` (no key is sent), so a test tells a replayed
answer from a freshly recorded one by the ``echo`` the cassette was edited to hold.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_runs import run

from nim_mock.plugin.options import RecordMode
from nim_mock.plugin.record_modes import Plan, plan

DEAD_ENDPOINT = "http://127.0.0.1:9/v1"
"""Nothing listens on port 9 (discard): a run that reaches it fails, so a pass proves it did not."""


@pytest.mark.parametrize(
    ("mode", "exists", "expected"),
    [
        (RecordMode.NONE, True, Plan(replay=True, record=False, keep_recorded=True)),
        (RecordMode.NONE, False, Plan(replay=True, record=False, keep_recorded=True)),
        (RecordMode.ONCE, True, Plan(replay=True, record=False, keep_recorded=True)),
        (RecordMode.ONCE, False, Plan(replay=False, record=True, keep_recorded=False)),
        (RecordMode.NEW_EPISODES, True, Plan(replay=True, record=True, keep_recorded=True)),
        (RecordMode.NEW_EPISODES, False, Plan(replay=False, record=True, keep_recorded=False)),
        (RecordMode.ALL, True, Plan(replay=False, record=True, keep_recorded=True)),
        (RecordMode.ALL, False, Plan(replay=False, record=True, keep_recorded=False)),
        (RecordMode.REWRITE, True, Plan(replay=False, record=True, keep_recorded=False)),
        (RecordMode.REWRITE, False, Plan(replay=False, record=True, keep_recorded=False)),
    ],
)
def test_each_mode_means_what_pytest_recording_means(mode: RecordMode, exists: bool, expected: Plan) -> None:
    assert plan(mode, exists) == expected


TESTS = """
import pytest

def ask(client, content):
    body = {"model": "up/model", "messages": [{"role": "user", "content": content}]}
    response = client.post("chat/completions", json=body)
    assert response.status_code == 200, response.text
    return response.json()["echo"]

@pytest.mark.nim(cassette="modes/one"%(marker)s)
def test_one(nim_harness_http_client):
    print("ANSWERS", [ask(nim_harness_http_client, c) for c in %(questions)r])
"""


def write_tests(project: pytest.Pytester, questions: list[str], marker: str = "") -> None:
    project.makepyfile(test_inner_modes=TESTS % {"questions": questions, "marker": marker})


def cassette(project: pytest.Pytester) -> Path:
    return project.path / "cassettes" / "modes" / "one.json"


def recorded_questions(project: pytest.Pytester) -> list[str]:
    document = json.loads(cassette(project).read_text())
    return [i["request"]["json"]["messages"][0]["content"] for i in document["interactions"]]


def mark_as_replayed(project: pytest.Pytester) -> None:
    """Edit every recorded answer to echo "replayed", so a run shows which answers came from the file."""
    document = json.loads(cassette(project).read_text())
    for interaction in document["interactions"]:
        interaction["response"]["json"]["echo"] = "replayed"
    cassette(project).write_text(json.dumps(document))


def answers(result: pytest.RunResult) -> list[str]:
    [line] = [line for line in result.outlines if "ANSWERS " in line]  # after the file's progress
    return list(json.loads(line.partition("ANSWERS ")[2].replace("'", '"')))


def test_once_records_a_missing_cassette_then_only_replays_it(
    project: pytest.Pytester, upstream: str
) -> None:
    write_tests(project, ["a", "b"])
    first = run(project, "-s", "--nim-record-mode=once", f"--nim-harness-endpoint={upstream}/v1")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["*nim-harness recorded 1 cassette(s)*"])
    assert recorded_questions(project) == ["a", "b"]
    mark_as_replayed(project)
    again = run(project, "-s", "--nim-record-mode=once", f"--nim-harness-endpoint={DEAD_ENDPOINT}")
    again.assert_outcomes(passed=1)
    assert answers(again) == ["replayed", "replayed"]
    write_tests(project, ["a", "c"])  # once never adds to an existing cassette: "c" is a miss
    missed = run(project, "--nim-record-mode=once", f"--nim-harness-endpoint={upstream}/v1")
    missed.assert_outcomes(failed=1)
    missed.stdout.fnmatch_lines(["*no recorded interaction matches POST /v1/chat/completions*"])
    assert recorded_questions(project) == ["a", "b"]


def recorded_once(project: pytest.Pytester, upstream: str, questions: list[str]) -> None:
    """Record the test asking ``questions`` (record mode once), then mark the answers as replayed."""
    write_tests(project, questions)
    run(project, "--nim-record-mode=once", f"--nim-harness-endpoint={upstream}/v1").assert_outcomes(passed=1)
    mark_as_replayed(project)


@pytest.mark.parametrize(
    ("questions", "marker"),
    [
        (["a", "b"], ', record_mode="new_episodes"'),
        # Without repeats, a request beyond the recorded ones is new as well.
        (["a", "a"], ', record_mode="new_episodes", allow_playback_repeats=False'),
    ],
)
def test_new_episodes_replays_what_is_recorded_and_records_the_rest(
    project: pytest.Pytester, upstream: str, questions: list[str], marker: str
) -> None:
    recorded_once(project, upstream, ["a"])
    write_tests(project, questions, marker=marker)
    result = run(project, "-s", f"--nim-harness-endpoint={upstream}/v1")
    result.assert_outcomes(passed=1)
    assert answers(result) == ["replayed", ""]
    assert recorded_questions(project) == questions


def test_all_records_everything_and_keeps_the_old_interactions(
    project: pytest.Pytester, upstream: str
) -> None:
    recorded_once(project, upstream, ["a"])
    result = run(project, "-s", "--nim-record-mode=all", f"--nim-harness-endpoint={upstream}/v1")
    result.assert_outcomes(passed=1)
    assert answers(result) == [""]
    assert recorded_questions(project) == ["a", "a"]


def test_rewrite_and_record_mode_start_the_cassette_afresh(project: pytest.Pytester, upstream: str) -> None:
    write_tests(project, ["a", "b"])
    run(project, "--nim-record-mode=once", f"--nim-harness-endpoint={upstream}/v1").assert_outcomes(passed=1)
    write_tests(project, ["c"])
    run(project, "--nim-record-mode=rewrite", f"--nim-harness-endpoint={upstream}/v1").assert_outcomes(
        passed=1
    )
    assert recorded_questions(project) == ["c"]
    write_tests(project, ["d"])
    run(project, f"--nim-harness-endpoint={upstream}/v1", mode="record").assert_outcomes(passed=1)
    assert recorded_questions(project) == ["d"]


def test_the_command_line_record_mode_beats_the_marker(project: pytest.Pytester, upstream: str) -> None:
    write_tests(project, ["a"], marker=', record_mode="none"')
    run(project, "--nim-record-mode=once", f"--nim-harness-endpoint={upstream}/v1").assert_outcomes(passed=1)
    assert recorded_questions(project) == ["a"]


def test_recording_without_an_endpoint_fails_naming_the_variable(project: pytest.Pytester) -> None:
    write_tests(project, ["a"], marker=', record_mode="once"')
    result = run(project)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*record mode once needs an endpoint: set NIM_ENDPOINT*"])
    assert not cassette(project).exists()


def test_each_interaction_plays_once_when_repeats_are_off(project: pytest.Pytester, upstream: str) -> None:
    write_tests(project, ["a"])
    run(project, "--nim-record-mode=once", f"--nim-harness-endpoint={upstream}/v1").assert_outcomes(passed=1)
    write_tests(project, ["a", "a"])
    run(project).assert_outcomes(passed=1)  # the default replays the one recording again
    strict = run(project, "--nim-harness-allow-playback-repeats=false")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(
        ["*no recorded interaction is left for POST /v1/chat/completions: cassette modes/one holds 1*"]
    )


def test_unplayed_interactions_are_reported_or_fail_the_test(project: pytest.Pytester, upstream: str) -> None:
    write_tests(project, ["a", "b", "c"])
    run(project, "--nim-record-mode=once", f"--nim-harness-endpoint={upstream}/v1").assert_outcomes(passed=1)
    write_tests(project, ["b"])
    reported = run(project)
    reported.assert_outcomes(passed=1)
    reported.stdout.fnmatch_lines(
        [
            "*nim-harness: 2 recorded interaction(s) never played, in 1 test(s)*",
            "test_inner_modes.py::test_one (cassette modes/one):",
            "    modes/one #1: POST /v1/chat/completions (model up/model)",
            "    modes/one #3: POST /v1/chat/completions (model up/model)",
        ]
    )
    failing = run(project, "--nim-harness-unplayed=fail")
    failing.assert_outcomes(passed=1, errors=1)
    failing.stdout.fnmatch_lines(["*2 interaction(s) of *one.json were never played:*"])
