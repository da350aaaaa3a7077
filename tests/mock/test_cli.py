"""``nim-mock``: serve as a real subprocess (start, answer, Ctrl-C), list, and clean failures.

Failures that happen before serving are run in-process through ``main(argv, out=, err=)``; the
server itself is run the way a user runs it, as the installed console script.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_runs import run_cli, serve_process

from nim_mock import bundled_cassettes_dir, load_cassettes, save_cassette
from nim_mock.app import harness_version
from nim_mock.cli import build_parser, main


def test_serve_starts_answers_and_stops_on_ctrl_c(build: Any) -> None:
    with serve_process() as served:
        bundled = load_cassettes([bundled_cassettes_dir()])
        assert f"serving {len(bundled)} cassettes" in served.banner
        with httpx.Client(timeout=10.0) as client:
            ready = client.get(served.base_url + "/health/ready")
            assert ready.status_code == 200
            assert ready.headers["system-health"] == "True"
            plain = next(c for c in bundled if c.name == "chat/plain").interactions[0]
            answer = client.post(served.base_url + "/chat/completions", json=plain.request.body)
            assert answer.content == plain.response.body
    assert served.returncode == 0
    assert "Traceback" not in served.err
    assert "GET /v1/health/ready 200 nim1 health" in served.err
    assert "POST /v1/chat/completions 200 chat/plain#1" in served.err


def test_list_prints_the_listing_of_a_folder(tmp_path: Path, build: Any, snapshot: Any) -> None:
    save_cassette(build.plain_chat(), tmp_path / "chat" / "plain.json")
    body = build.chat_body("stream", stream=True)
    streamed = build.cassette(
        "chat/stream",
        (build.post(body), build.stream_response(build.sse([(0.0, "a"), (5.0, "b")]))),
        description="A streamed answer.",
    )
    save_cassette(streamed, tmp_path / "chat" / "stream.json")
    code, out, err = run_cli(["list", str(tmp_path)])
    assert (code, err) == (0, "")
    assert out == snapshot


def test_list_without_folders_shows_the_bundled_cassettes() -> None:
    code, out, _ = run_cli(["list"])
    assert code == 0
    for cassette in load_cassettes([bundled_cassettes_dir()]):
        assert cassette.name in out


def test_list_long_shows_each_description_in_full() -> None:
    cassettes = load_cassettes([bundled_cassettes_dir()])
    longest = max(cassettes, key=lambda cassette: len(cassette.description))
    full = " ".join(longest.description.split())
    assert len(full) > 60  # the short listing cuts it
    _, short, _ = run_cli(["list"])
    assert full not in short
    code, out, _ = run_cli(["list", "--long"])
    assert code == 0
    assert full in out


def test_a_bad_cassette_is_reported_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"format": "nim-harness.cassette", "version": 1}')
    for argv in (["serve", "--cassettes", str(tmp_path), "--port", "0"], ["list", str(tmp_path)]):
        code, out, err = run_cli(argv)
        assert code == 2
        assert out == ""
        assert err.startswith("nim-mock: ")
        assert "broken.json" in err
        assert "interactions" in err
        assert "Traceback" not in err


def test_a_missing_folder_is_reported_with_exit_2(tmp_path: Path) -> None:
    code, _, err = run_cli(["serve", "--cassettes", str(tmp_path / "nope")])
    assert code == 2
    assert "no such cassette folder" in err


def test_a_bad_ignore_path_is_reported_not_raised(tmp_path: Path, build: Any) -> None:
    save_cassette(build.plain_chat(), tmp_path / "plain.json")
    code, _, err = run_cli(["serve", "--cassettes", str(tmp_path), "--ignore", "a..b", "--port", "0"])
    assert code == 2
    assert err.startswith("nim-mock: ")


def test_port_in_use_is_reported(tmp_path: Path, build: Any) -> None:
    save_cassette(build.plain_chat(), tmp_path / "plain.json")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code, _, err = run_cli(["serve", "--cassettes", str(tmp_path), "--port", str(port)])
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["serve", "--speed", "fast"], "is not a number"),
        (["serve", "--speed", "-1"], "finite number >= 0"),
        (["serve", "--port", "70000"], "not a port number"),
        (["serve", "--error-layout", "openai"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_a_usage_message(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert needle in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"nim-mock (nim-harness) {harness_version()}"


def test_serve_options_take_several_values_or_repeat() -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--cassettes",
            "a",
            "b",
            "--cassettes",
            "c",
            "--ignore",
            "seed",
            "messages.*.name",
            "--ignore",
            "n",
        ]
    )
    assert args.cassettes == [Path("a"), Path("b"), Path("c")]
    assert args.ignore == ["seed", "messages.*.name", "n"]
