"""The command line, run against real mock servers on loopback (no vLLM needed).

Two stand-ins that differ only in their error layout must agree on every answer and disagree on
every error; a recording of one server, replayed, must agree with it byte for byte.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from nim_mock import create_app, load_cassettes, serve_in_thread
from nim_mock.record.proxy import create_recording_app
from nim_mock.record.writer import CassetteWriter

from .run import main

ONLY = ["chat.", "temperature.", "stream.", "tools.auto", "body.", "method.", "models.list"]


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[dict[str, str]]:
    """Base URLs of the mock's stand-in mode, one per error layout."""
    with ExitStack() as stack:
        yield {
            layout: stack.enter_context(
                serve_in_thread(create_app([], on_miss="synthesize", error_layout=layout))
            )
            + "/v1"
            for layout in ("nim", "vllm")
        }


def test_a_server_agrees_with_itself(stand_ins: dict[str, str]) -> None:
    status, out, err = _run("--a", stand_ins["nim"], "--b", stand_ins["nim"], "--only", *ONLY)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("conformance: ")
    agreed, total = lines[-2].split(" ", 1)[0].split("/")
    assert agreed == total
    assert lines[-1].startswith(f"conformance: {total} cases in ")


def test_each_disagreement_is_listed_and_the_threshold_decides_the_exit(stand_ins: dict[str, str]) -> None:
    urls = ["--a", stand_ins["nim"], "--b", stand_ins["vllm"], "--only", *ONLY]
    status, out, err = _run(*urls)
    assert status == 1
    assert "is below --threshold 100%" in err
    disagreements = [line for line in out.splitlines() if ": A " in line]
    assert any(line.startswith("body.truncated: keys: A ") for line in disagreements)
    # nim2 answers in vLLM 0.32's bytes: its bodies carry a system_fingerprint that nim1's lack
    assert any(line.startswith("chat.plain: keys: A ") for line in disagreements)
    assert _run(*urls, "--threshold", "0")[0] == 0


def test_a_replayed_recording_agrees_byte_for_byte(stand_ins: dict[str, str], tmp_path: Path) -> None:
    folder, answers = tmp_path / "recorded", tmp_path / "answers.json"
    writer = CassetteWriter(folder, stand_ins["vllm"], lambda line: None)
    origin = stand_ins["vllm"].removesuffix("/v1")
    only = ["--only", "chat.plain", "stream.usage", "body.truncated", "method.get_chat", "tools.auto"]
    with serve_in_thread(create_recording_app(origin, writer)) as proxy:
        status, _, _ = _run("--a", stand_ins["vllm"], "--b", proxy + "/v1", "--save-b", str(answers), *only)
    assert status == 0
    with serve_in_thread(create_app(load_cassettes([folder]), error_layout="vllm")) as replay:
        status, out, err = _run(
            "--a", stand_ins["vllm"], "--b", replay + "/v1", "--same-bytes", str(answers), *only
        )
    assert (status, err) == (0, ""), out
    assert "7/7 agree (100.0%)" in out  # the prefixes select seven cases


def test_bytes_that_differ_are_a_disagreement(stand_ins: dict[str, str], tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    assert (
        _run(
            "--a", stand_ins["nim"], "--b", stand_ins["nim"], "--save-b", str(answers), "--only", "chat.plain"
        )[0]
        == 0
    )
    status, out, _ = _run(
        "--a",
        stand_ins["nim"],
        "--b",
        stand_ins["vllm"],
        "--same-bytes",
        str(answers),
        "--only",
        "body.truncated",
    )
    assert status == 1
    assert "body.truncated: bytes: A (absent) | B 400 application/json" in out


def test_usage_errors_exit_2_with_a_sentence(stand_ins: dict[str, str], tmp_path: Path) -> None:
    status, _, err = _run("--a", stand_ins["nim"])
    assert status == 2
    assert "give both --a URL and --b URL" in err
    status, _, err = _run("--a", stand_ins["nim"], "--b", "http://127.0.0.1:9/v1", "--only", "chat.plain")
    assert status == 2
    assert "B (http://127.0.0.1:9/v1) answered none of the 1 requests; is it running?" in err
    status, _, err = _run("--a", stand_ins["nim"], "--b", stand_ins["nim"], "--only", "no-such-case")
    assert (status, "no case name starts with no-such-case" in err) == (2, True)
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    status, _, err = _run("--a", stand_ins["nim"], "--b", stand_ins["nim"], "--same-bytes", str(bad))
    assert status == 2
    assert "not a file of saved answers" in err
    with pytest.raises(SystemExit):
        _run("--a", "127.0.0.1:8000", "--b", stand_ins["nim"])


def test_list_prints_every_case() -> None:
    status, out, _ = _run("--list")
    assert status == 0
    assert len(out.splitlines()) >= 150
    assert "chat.plain\tPOST chat/completions" in out.splitlines()
