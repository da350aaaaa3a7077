"""A broken cassette folder is one clear line from ``nim-mock serve``, ``check`` and ``list``.

Symbolic-link loops, a FIFO or a device named ``*.json``, a file or subfolder that cannot be read:
each is named with what it is, never a traceback, and never a hang. A FIFO blocks whoever opens
it for reading until a writer comes, so those cases run ``nim-mock`` as its own process under a
timeout: a regression fails the test instead of freezing the run.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_runs import nim_mock_command

from nim_mock import save_cassette
from nim_mock.cassette import CassetteError
from nim_mock.cassettes.persist import cassette_files, load_cassettes, read_plain_file

GENEROUS_S = 60.0

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="this platform has no FIFOs")
not_root = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their permissions"
)


def _one_good(folder: Path, build: Any) -> None:
    save_cassette(build.plain_chat(), folder / "chat" / "plain.json")


def _symlink_loop(folder: Path) -> Path:
    (folder / "a.json").symlink_to(folder / "b.json")
    (folder / "b.json").symlink_to(folder / "a.json")
    return folder / "a.json"


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*nim_mock_command(), *argv], capture_output=True, text=True, timeout=GENEROUS_S, check=False
    )


def _assert_one_line_each(command: str, folder: Path, wanted: list[str]) -> None:
    """``nim-mock <command> <folder>``: for serve and list, exit 2 with the first broken file's line;
    for check, exit 1 with one line per broken file; never a traceback."""
    argv = (
        ["serve", "--port", "0", "--cassettes", str(folder)] if command == "serve" else [command, str(folder)]
    )
    done = _run(*argv)
    assert "Traceback" not in done.stderr + done.stdout
    if command == "check":
        assert done.returncode == 1
        lines = done.stdout.splitlines()
        assert len(lines) == len(wanted), lines
        for line, needle in zip(lines, sorted(wanted), strict=True):
            assert needle in line, (line, needle)
        return
    assert done.returncode == 2, done
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("nim-mock: ")
    assert any(needle in lines[0] for needle in wanted), lines[0]


@pytest.mark.parametrize("command", ["serve", "check", "list"])
def test_a_symbolic_link_loop_is_one_line(command: str, tmp_path: Path, build: Any) -> None:
    _one_good(tmp_path, build)
    _symlink_loop(tmp_path)
    wanted = ["a.json: cannot be read (Too many levels of symbolic links)"]
    if command == "check":
        wanted.append("b.json: cannot be read (Too many levels of symbolic links)")
    _assert_one_line_each(command, tmp_path, wanted)


@needs_fifo
@pytest.mark.parametrize("command", ["serve", "check", "list"])
def test_a_fifo_named_json_is_one_line_not_a_hang(command: str, tmp_path: Path, build: Any) -> None:
    _one_good(tmp_path, build)
    os.mkfifo(tmp_path / "pipe.json")
    _assert_one_line_each(command, tmp_path, ["pipe.json: is a FIFO (named pipe), not a file"])


@pytest.mark.parametrize("command", ["serve", "check", "list"])
def test_a_device_or_a_dangling_link_named_json_is_one_line(command: str, tmp_path: Path, build: Any) -> None:
    _one_good(tmp_path, build)
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    (tmp_path / "gone.json").symlink_to(tmp_path / "nowhere.json")
    wanted = ["zero.json: is a character device", "gone.json: cannot be read (No such file or directory)"]
    _assert_one_line_each(command, tmp_path, wanted)


@not_root
@pytest.mark.parametrize("command", ["serve", "check", "list"])
def test_an_unreadable_file_or_folder_is_one_line(command: str, tmp_path: Path, build: Any) -> None:
    _one_good(tmp_path, build)
    locked = tmp_path / "locked.json"
    save_cassette(build.plain_chat("other"), locked)
    locked.chmod(0)
    hidden = tmp_path / "private"
    hidden.mkdir()
    hidden.chmod(0)
    try:
        wanted = [
            "locked.json: cannot be read (Permission denied)",
            "private: cannot be read (Permission denied)",
        ]
        _assert_one_line_each(command, tmp_path, wanted)
    finally:
        hidden.chmod(0o755)
        locked.chmod(0o644)


@needs_fifo
def test_check_with_tests_reads_no_fifo_among_the_test_sources(tmp_path: Path, build: Any) -> None:
    folder = tmp_path / "cassettes"
    _one_good(folder, build)
    tests = tmp_path / "tests"
    tests.mkdir()
    os.mkfifo(tests / "test_pipe.py")
    done = _run("check", str(folder), "--tests", str(tests), "--rootdir", str(tmp_path))
    assert "Traceback" not in done.stderr
    assert "test_pipe.py: cannot be read as Python" in done.stdout
    assert "is a FIFO (named pipe), not a file; a test source is a plain file" in done.stdout


def test_the_walk_and_the_reader_in_process(tmp_path: Path, build: Any) -> None:
    _one_good(tmp_path, build)
    loop = _symlink_loop(tmp_path)
    (tmp_path / "_draft.json").write_text("{}")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.json").write_text("{}")
    found = [path.relative_to(tmp_path).as_posix() for path in cassette_files(tmp_path)]
    assert found == ["a.json", "b.json", "chat/plain.json"]
    with pytest.raises(CassetteError, match="Too many levels of symbolic links"):
        read_plain_file(loop)
    with pytest.raises(CassetteError, match=r"a\.json: cannot be read"):
        load_cassettes([tmp_path])
    assert read_plain_file(tmp_path / "chat" / "plain.json").startswith(b"{")
