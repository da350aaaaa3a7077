"""``nim-mock --help`` stays cheap: what only a command needs is imported when that command runs.

Each case runs in a fresh interpreter, so ``sys.modules`` holds exactly what the import or the help
run loaded (this test process has long loaded everything). bench/bench_startup.py measures what
this buys (``nim-mock --help`` against ``uvicorn --help``); this file keeps it from coming back.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cli_runs import nim_mock_command

HEAVY = (
    "pytest",
    "langchain_core",
    "nim_harness",  # the whole client, _chat_model included: only `check` decodes events with it
    "httpx",
    "starlette",
    "uvicorn",
    "anyio",
    "asyncio",
    "importlib.metadata",  # only --version reads the installed version
    "nim_mock.app",
    "nim_mock.serve",
    "nim_mock.record",
    "nim_mock.cassettes",
    "nim_mock.faults.rules",
    "nim_mock.synth.synthesize",
)
"""Modules (and their submodules) that building the parser and printing help must not load."""

REPORT_MODULES = "import json, sys; print(json.dumps(sorted(sys.modules)))"


def modules_after(code: str) -> list[str]:
    """The names in ``sys.modules`` after a fresh interpreter ran ``code`` (which prints them last)."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def heavy_in(loaded: list[str]) -> list[str]:
    return sorted(name for name in loaded if any(name == h or name.startswith(h + ".") for h in HEAVY))


def test_importing_the_cli_loads_none_of_the_heavy_modules() -> None:
    assert heavy_in(modules_after(f"import nim_mock.cli; {REPORT_MODULES}")) == []


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"], ["record", "--help"], ["serve", "--port"]])
def test_help_and_usage_errors_load_none_of_the_heavy_modules(argv: list[str]) -> None:
    code = (
        "import contextlib, io\n"
        "from nim_mock.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit as stop:\n"
        "        assert stop.code in (0, 2), stop.code\n"
        "    else:\n"
        "        raise AssertionError('argparse did not exit')\n"
        f"{REPORT_MODULES}"
    )
    assert heavy_in(modules_after(code)) == []


def test_the_console_script_help_loads_none_of_the_heavy_modules() -> None:
    """``nim-mock --help`` exactly as a user runs it: the installed script, every import it makes
    listed by ``-X importtime`` (the script itself cannot be asked for its ``sys.modules``)."""
    command = nim_mock_command()  # the script (Python with a shebang), or python -m nim_mock.cli
    if command[0] == sys.executable:
        command = command[1:]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "serve cassettes over HTTP like a NIM" in done.stdout
    imported = [
        line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
    ]
    assert "nim_mock.cli" in imported
    assert heavy_in(imported) == []


def test_the_check_is_able_to_see_a_heavy_module() -> None:
    """The same probe after `nim-mock list`, which does load the cassette files: the list is not vacuous."""
    code = (
        "import contextlib, io\n"
        "from nim_mock.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['list']) == 0\n"
        f"{REPORT_MODULES}"
    )
    assert "nim_mock.cassettes.persist" in heavy_in(modules_after(code))
