"""Loading the plugin costs a run that uses none of it nothing: fixtures import what they need.

Every pytest run in a project that installed nim-harness loads the plugin, so its module-level
imports are paid by suites that never touch a fixture. Each run here is a fresh process (this one
has long imported everything) with only this plugin loaded, and a conftest hook writes
``sys.modules`` at session finish. bench/bench_startup.py measures the time this saves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from test_plugin_subprocess import clean_environment

UNUSED_UNTIL_A_FIXTURE = (
    "langchain_core",
    "nim_harness",  # the client: _chat_model and also the SSE decoder live there
    "httpx",
    "starlette",
    "uvicorn",
    "anyio",
    "asyncio",
    "nim_mock.app",
    "nim_mock.serve",
    "nim_mock.record",
    "nim_mock.cassette",
    "nim_mock.cassettes.persist",
    "nim_mock.faults",
    "nim_mock.synth",
)
"""Modules (and their submodules) that a run whose tests take no nim fixture must not load."""

CONFTEST = """
import json, sys

def pytest_sessionfinish(session):
    with open("modules.json", "w") as out:
        json.dump(sorted(sys.modules), out)
"""

NO_FIXTURE = """
import pytest

def test_arithmetic():
    assert 1 + 1 == 2

@pytest.mark.nim(cassette="bundled:models/list")
def test_marked_but_no_fixture():
    assert True
"""

CHAT_NVIDIA = """
import pytest

@pytest.mark.nim(cassette="bundled:models/list")
def test_models(nim_harness_chat):
    ids = [model.id for model in nim_harness_chat().get_available_models()]
    assert ids and all(ids)
"""


def start(root: Path, test: str) -> subprocess.Popen[str]:
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "conftest.py").write_text(CONFTEST)
    (root / "test_it.py").write_text(test)
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "nim_mock.pytest_plugin", "-q"],
        cwd=root,
        env=clean_environment(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(process: subprocess.Popen[str], root: Path) -> tuple[str, list[str]]:
    """The run's output (after checking it passed) and the modules loaded at its end."""
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    loaded: list[str] = json.loads((root / "modules.json").read_text())
    return output, loaded


def loaded_of(loaded: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if any(m == name or m.startswith(name + ".") for name in names))


def test_a_run_without_nim_fixtures_imports_no_client_and_no_server(tmp_path: Path) -> None:
    # Both runs start together and are awaited together: each is a few seconds of pytest start-up.
    unused = start(tmp_path / "unused", NO_FIXTURE)
    used = start(tmp_path / "used", CHAT_NVIDIA)

    output, loaded = finished(unused, tmp_path / "unused")
    assert "2 passed" in output
    assert "nim_mock.pytest_plugin" in loaded  # the plugin was loaded, and its hooks ran
    assert loaded_of(loaded, UNUSED_UNTIL_A_FIXTURE) == []

    # Once a test takes nim_harness_chat it works as before, and the same probe sees what it loaded.
    output, loaded = finished(used, tmp_path / "used")
    assert "1 passed" in output
    assert {"langchain_core", "nim_harness._chat_model", "httpx", "uvicorn"} <= set(loaded)
