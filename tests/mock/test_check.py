"""``nim-mock check``: one test per problem it names, the orphan rules, and its exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cli_runs import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from nim_mock import Event, RecordedResponse, bundled_cassettes_dir, save_cassette
from nim_mock.cassettes.check import check_folders, event_problems, scan_tests
from nim_mock.cassettes.encode import cassette_to_dict
from nim_mock.cli import main

KEY = "nvapi-" + "Zq8sT0pLm3Xc" * 4  # built, so this file never holds a key-shaped literal


def _problems(*argv: str) -> list[str]:
    """``nim-mock check <argv>``'s report lines, for a run that must find problems (exit 1)."""
    run = run_cli(["check", *argv])
    assert run.code == 1, run
    return run.lines


def _write(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def _plain(build: Any) -> dict[str, Any]:
    return cassette_to_dict(build.plain_chat())


def _streamed(build: Any, *events: Event) -> dict[str, Any]:
    body = build.chat_body("stream", stream=True)
    response = build.stream_response(events or build.sse([(1.0, "a"), (2.0, "b")]))
    return cassette_to_dict(build.cassette("s", (build.post(body), response)))


def test_a_clean_folder_exits_0(tmp_path: Path, build: Any) -> None:
    save_cassette(build.plain_chat(), tmp_path / "chat" / "plain.json")
    _write(tmp_path / "chat" / "stream.json", _streamed(build))
    run = run_cli(["check", str(tmp_path)])
    assert (run.code, run.lines) == (0, [])
    assert run.err == "nim-mock check: 2 cassettes, no problems\n"


def test_the_bundled_cassettes_are_clean_and_used_by_the_tests() -> None:
    tests = Path(__file__).resolve().parents[1]
    run = run_cli(["check", "--tests", str(tests), "--rootdir", str(tests.parent)])
    assert (run.code, run.lines) == (0, [])


def test_a_newer_format_version(tmp_path: Path, build: Any) -> None:
    path = _write(tmp_path / "v2.json", {**_plain(build), "version": 2})
    lines = _problems(str(tmp_path))
    assert lines == [
        f"{path}: version: is 2: written by a newer nim-harness (this one reads version 1); "
        "upgrade nim-harness"
    ]


def test_not_a_cassette_at_all(tmp_path: Path) -> None:
    path = _write(tmp_path / "other.json", {"hello": "world"})
    lines = _problems(str(tmp_path))
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: format: is missing")


def test_a_schema_error(tmp_path: Path, build: Any) -> None:
    document = _plain(build)
    document["interactions"][0]["response"]["status"] = 99
    path = _write(tmp_path / "bad.json", document)
    lines = _problems(str(tmp_path))
    assert lines == [
        f"{path}: interactions[0].response.status: "
        "must be an HTTP status code from 200 to 599 (a final answer), got 99"
    ]


def test_invalid_json(tmp_path: Path) -> None:
    (tmp_path / "cut.json").write_text('{"format": "nim-harness.cassette", ')
    lines = _problems(str(tmp_path))
    assert lines[0].startswith(f"{tmp_path / 'cut.json'}: is not valid JSON")


def test_a_secret(tmp_path: Path, build: Any) -> None:
    document = _plain(build)
    document["interactions"][0]["request"]["json"]["messages"][0]["content"] = f"my key is {KEY}"
    path = _write(tmp_path / "leak.json", document)
    lines = _problems(str(tmp_path))
    assert len(lines) == 1  # the loader's refusal of the same secret is not repeated
    assert lines[0].startswith(
        f"{path}: interactions[0].request.json.messages[0].content: holds a secret (nvapi- API key)"
    )
    assert KEY not in "\n".join(lines)


def test_a_secret_in_an_otherwise_broken_file_is_still_reported(tmp_path: Path, build: Any) -> None:
    document = _plain(build)
    document["interactions"][0]["request"]["headers"]["authorization"] = "Bearer 9f8e7d6c5b4a39281706"
    document["interactions"][0]["response"]["status"] = "two hundred"
    path = _write(tmp_path / "leak.json", document)
    lines = _problems(str(tmp_path))
    assert any(
        line.startswith(f"{path}: interactions[0].request.headers.authorization: holds a secret")
        for line in lines
    )
    assert any("response.status" in line for line in lines)


def test_an_event_that_is_neither_json_nor_done(tmp_path: Path, build: Any) -> None:
    path = _write(
        tmp_path / "s.json",
        _streamed(build, Event(1.0, b"data: hello there\n\n"), Event(2.0, b"data: [DONE]\n\n")),
    )
    lines = _problems(str(tmp_path))
    assert lines == [
        f"{path}: interactions[0].response.events[0]: data is neither JSON nor [DONE]: 'hello there'"
    ]


def test_a_json_event_in_no_nim_layout(tmp_path: Path, build: Any) -> None:
    events = (
        Event(1.0, b'data: {"token": "a"}\n\n'),
        Event(2.0, b'data: {"choices": [{"index": 0}]}\n\n'),
        Event(3.0, b'data: {"choices": [{"index": "0", "delta": {}}]}\n\n'),
        Event(4.0, b'data: {"choices": [], "usage": 5}\n\n'),
        Event(5.0, b"data: [1, 2]\n\n"),
        Event(6.0, b'data: {"error": {"message": "overloaded"}}\n\n'),  # an in-band error is fine
        Event(7.0, b": keep-alive\n\n"),  # a comment carries no data
    )
    path = _write(tmp_path / "s.json", _streamed(build, *events))
    lines = _problems(str(tmp_path))
    prefix = f"{path}: interactions[0].response.events"
    assert lines == [
        f"{prefix}[0]: data has no 'choices' array and is not an error; "
        "an OpenAI-compatible client cannot read it",
        f"{prefix}[1]: data choices[0] has neither a 'delta' object (chat) nor a 'text' string (completions)",
        f"{prefix}[2]: data choices[0].index must be an integer",
        f"{prefix}[3]: data usage must be an object or null, got a number",
        f"{prefix}[4]: data is an array, not a JSON object (a chunk or an error)",
    ]


def test_an_event_split_over_two_entries_is_decoded_as_one(tmp_path: Path, build: Any) -> None:
    chunk = json.dumps(build.chunk("hi")).encode()
    events = (
        Event(1.0, b"data: " + chunk[:10]),
        Event(2.0, chunk[10:] + b"\n\n"),
        Event(3.0, b"data: [DONE]\n\n"),
    )
    _write(tmp_path / "s.json", _streamed(build, *events))
    assert run_cli(["check", str(tmp_path)]).code == 0


def test_timing_that_goes_back(tmp_path: Path, build: Any) -> None:
    path = _write(tmp_path / "s.json", _streamed(build, *build.sse([(5.0, "a"), (3.0, "b")], done_at=6.0)))
    lines = _problems(str(tmp_path))
    assert lines == [
        f"{path}: interactions[0].response.events[1].t_ms: goes back in time (3.0 after 5.0); "
        "events are listed in the order sent"
    ]


def test_an_event_before_the_headers(tmp_path: Path, build: Any) -> None:
    document = _streamed(build)
    document["interactions"][0]["response"]["t_headers_ms"] = 1.5
    path = _write(tmp_path / "s.json", document)
    lines = _problems(str(tmp_path))
    assert lines == [
        f"{path}: interactions[0].response.events[0].t_ms: is 1, before the headers (t_headers_ms 1.5); "
        "an event cannot arrive before the status line"
    ]


def test_a_json_content_type_on_a_body_that_is_not_json(tmp_path: Path, build: Any) -> None:
    document = _plain(build)
    response = document["interactions"][0]["response"]
    del response["json"]
    response["text"] = '{"cut": '
    path = _write(tmp_path / "p.json", document)
    lines = _problems(str(tmp_path))
    assert lines == [
        f"{path}: interactions[0].response.json: "
        "content-type says application/json but the body does not parse as JSON"
    ]


def test_two_folders_with_one_name(tmp_path: Path, build: Any) -> None:
    first, second = tmp_path / "a" / "chat" / "plain.json", tmp_path / "b" / "chat" / "plain.json"
    save_cassette(build.plain_chat(), first)
    save_cassette(build.plain_chat(), second)
    lines = _problems(str(tmp_path / "a"), str(tmp_path / "b"))
    assert lines == [f"{second}: scenario name 'chat/plain' is also used by {first}; rename one"]


# -- orphans ---------------------------------------------------------------------------------------

TEST_MODULE = """
import pytest

CASES = {"tables/in_a_dict": 1}

@pytest.mark.nim(cassette="marked/literal")
def test_marked(nim_harness_chat):
    pass

@pytest.mark.nim(cassette="bundled:marked/bundled")
def test_bundled(nim_harness_chat):
    pass

def test_derived(nim_harness_chat):
    pass

@pytest.mark.parametrize("x", [1, 2])
def test_param(x):
    pass

class TestGroup:
    async def test_method(self):
        pass

    def helper(self):
        pass

@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.nim(cassette=n)) for n in CASES])
def test_table(name):
    pass
"""

USED = [
    "marked/literal",
    "marked/bundled",
    "tests/test_app/test_derived",
    "tests/test_app/test_param[1]",
    "tests/test_app/test_param[2]",
    "tests/test_app/TestGroup.test_method",
    "tables/in_a_dict",
]


def _project(tmp_path: Path, build: Any, names: list[str]) -> tuple[Path, Path]:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text(TEST_MODULE)
    folder = tmp_path / "cassettes"
    for name in names:
        save_cassette(build.plain_chat(name), folder / f"{name}.json")
    return folder, tmp_path / "tests"


def test_every_rule_for_a_used_cassette(tmp_path: Path, build: Any) -> None:
    folder, tests = _project(tmp_path, build, USED)
    run = run_cli(["check", str(folder), "--tests", str(tests), "--rootdir", str(tmp_path)])
    assert (run.code, run.lines) == (0, []), run.lines
    assert "7 cassettes, no problems" in run.err


def test_an_orphan_is_reported_only_with_tests(tmp_path: Path, build: Any) -> None:
    folder, tests = _project(
        tmp_path, build, [*USED, "tests/test_app/test_gone", "tests/test_app/TestGroup.helper"]
    )
    assert run_cli(["check", str(folder)]).code == 0
    lines = _problems(str(folder), "--tests", str(tests), "--rootdir", str(tmp_path))
    assert [line.split(": ", 1)[0] for line in lines] == [
        str(folder / "tests" / "test_app" / "TestGroup.helper.json"),
        str(folder / "tests" / "test_app" / "test_gone.json"),
    ]
    assert "orphan: no test in" in lines[0]
    assert "uses cassette 'tests/test_app/TestGroup.helper'" in lines[0]


def test_derived_names_follow_the_rootdir(tmp_path: Path, build: Any) -> None:
    folder, tests = _project(tmp_path, build, ["tests/test_app/test_derived"])
    # relative to tests/, the test derives "test_app/test_derived" instead
    _problems(str(folder), "--tests", str(tests), "--rootdir", str(tests))


def test_bundled_folder_is_used_whole_by_a_test_that_replays_it(tmp_path: Path) -> None:
    (tmp_path / "test_all.py").write_text(
        "from nim_mock import bundled_cassettes_dir\nFOLDER = bundled_cassettes_dir()\n"
    )
    (tmp_path / "test_none.py").write_text("def test_nothing():\n    pass\n")
    assert check_folders([bundled_cassettes_dir()], [tmp_path / "test_all.py"], tmp_path)[1] == []
    _, problems = check_folders([bundled_cassettes_dir()], [tmp_path / "test_none.py"], tmp_path)
    assert problems
    assert all("orphan" in p.problem for p in problems)


def test_a_test_file_that_does_not_parse_is_a_problem(tmp_path: Path, build: Any) -> None:
    folder, tests = _project(tmp_path, build, USED)
    (tests / "test_broken.py").write_text("def test_(:\n")
    lines = _problems(str(folder), "--tests", str(tests), "--rootdir", str(tmp_path))
    assert len(lines) == 1
    assert lines[0].startswith(f"{tests / 'test_broken.py'}: cannot be read as Python")


def test_scan_reads_without_importing(tmp_path: Path) -> None:
    (tmp_path / "test_boom.py").write_text('raise SystemExit("imported!")\ndef test_x():\n    pass\n')
    found = scan_tests([tmp_path], tmp_path)
    assert found.files == 1
    assert found.derived == {"test_boom/test_x"}


# -- usage errors ----------------------------------------------------------------------------------


def test_a_missing_folder_exits_2(tmp_path: Path) -> None:
    run = run_cli(["check", str(tmp_path / "nope")])
    assert (run.code, run.lines) == (2, [])
    assert run.err.startswith(f"nim-mock: {tmp_path / 'nope'}: no such cassette folder")


def test_a_missing_tests_path_exits_2(tmp_path: Path) -> None:
    run = run_cli(["check", str(tmp_path), "--tests", str(tmp_path / "nope")])
    assert run.code == 2
    assert "--tests takes test files or folders" in run.err


def test_an_unknown_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "--frobnicate"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --frobnicate" in capsys.readouterr().err


# -- property: exactly the events a client cannot parse are named ---------------------------------


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return text.strip() != "[DONE]"
    return False


garbage = st.text(
    st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=30
).filter(_not_json)
event_kinds = st.lists(st.one_of(st.just("chunk"), st.just("done"), garbage), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(kinds=event_kinds)
def test_exactly_the_unparsable_events_are_reported(kinds: list[str]) -> None:
    chunk = b'data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'
    events = tuple(
        Event(
            float(i),
            chunk
            if kind == "chunk"
            else b"data: [DONE]\n\n"
            if kind == "done"
            else f"data: {kind}\n\n".encode(),
        )
        for i, kind in enumerate(kinds)
    )
    response = RecordedResponse(200, (("content-type", "text/event-stream"),), events=events)
    found = event_problems(response, "r")
    bad = [i for i, kind in enumerate(kinds) if kind not in ("chunk", "done")]
    assert [field for field, _ in found] == [f"r.events[{i}]" for i in bad]
    assert all("neither JSON nor [DONE]" in problem for _, problem in found)


def test_a_byte_exact_copy_of_the_bundled_folder_counts_as_bundled(tmp_path: Path) -> None:
    """The installed nim-mock reads the wheel's copy while a checkout checks its own cassettes/."""
    copy = tmp_path / "cassettes"
    shutil.copytree(bundled_cassettes_dir(), copy)
    (tmp_path / "test_all.py").write_text(
        "from nim_mock import bundled_cassettes_dir\nFOLDER = bundled_cassettes_dir()\n"
    )
    assert check_folders([copy], [tmp_path / "test_all.py"], tmp_path)[1] == []
    changed = next(copy.rglob("*.json"))
    changed.write_text(changed.read_text().replace('"description": "', '"description": "changed: ', 1))
    _, problems = check_folders([copy], [tmp_path / "test_all.py"], tmp_path)
    assert problems
    assert all("orphan" in p.problem for p in problems)
