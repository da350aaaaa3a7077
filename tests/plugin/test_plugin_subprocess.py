"""Runs in fresh processes: the entry point loads by itself, and the environment layer is honoured.

These need their own process: the installed entry point is what loads the plugin there (no
``-p``, no conftest), and each run gets exactly the environment the case names, whatever the
shell running this suite exported. The environment cases load only this plugin (autoloading off,
``-p nim_mock.pytest_plugin``): the other installed plugins cost seconds of start-up each and prove
nothing here. They start together and are awaited together.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nim_mock.cassettes.persist import bundled_cassettes_dir

PLAIN_TEST = """
import json, pytest

@pytest.mark.nim(cassette="chat/plain")
def test_plain(nim_harness_http_client, nim_harness_mode):
    with open("cassettes/chat/plain.json") as f:
        body = json.load(f)["interactions"][0]["request"]["json"]
    assert nim_harness_mode == "mock"
    assert nim_harness_http_client.post("chat/completions", json=body).status_code == 200
"""


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without any nim-harness or NVIDIA setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIM_", "NVIDIA_", "PYTEST_"))}
    return env | extra


def project(root: Path, ini: str = "") -> Path:
    root.mkdir()
    (root / "pytest.ini").write_text(f"[pytest]\n{ini}")
    (root / "test_plain.py").write_text(PLAIN_TEST)
    target = root / "cassettes" / "chat" / "plain.json"
    target.parent.mkdir(parents=True)
    shutil.copy(bundled_cassettes_dir() / "chat" / "plain.json", target)
    return root


CASES = {
    # name: (ini lines, environment, extra args, expected summary, expected line)
    "ini_live_without_endpoint_skips": (
        "nim_harness_mode = live\n",
        {},
        [],
        "1 skipped",
        "SKIPPED [[]1] *: --nim-mode=live needs an endpoint: set NIM_ENDPOINT (or --nim-harness-endpoint, or "
        "nim_harness_endpoint in the ini file)*",
    ),
    "env_beats_ini": (
        "nim_harness_mode = live\n",
        {"NIM_MODE": "mock"},
        [],
        "1 passed",
        "nim-harness: mode=mock ($NIM_MODE)*",
    ),
    "hosted_endpoint_without_key_skips": (
        "",
        {"NIM_MODE": "record", "NVIDIA_BASE_URL": "https://integrate.api.nvidia.com/v1"},
        [],
        "1 skipped",
        "SKIPPED [[]1] *: NVIDIA_API_KEY is not set: https://integrate.api.nvidia.com/v1 refuses requests "
        "without a key*",
    ),
    "cli_beats_env": ("", {"NIM_MODE": "live"}, ["--nim-mode=mock"], "1 passed", "*mode=mock (--nim-mode)*"),
    "cli_live_without_endpoint_may_skip_when_asked": (
        "",
        {},
        ["--nim-mode=live", "--nim-harness-no-endpoint=skip"],
        "1 skipped",
        "SKIPPED [[]1] *: --nim-mode=live needs an endpoint: set NIM_ENDPOINT*",
    ),
}


def test_environment_and_ini_layers_in_fresh_processes(tmp_path: Path) -> None:
    running = {}
    for name, (ini, env, args, _, _) in CASES.items():
        root = project(tmp_path / name, ini)
        running[name] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-p",
                "nim_mock.pytest_plugin",
                "-rs",
                *args,
            ],
            cwd=root,
            env=clean_environment(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    for name, process in running.items():
        output, _ = process.communicate(timeout=60)
        _, _, _, summary, line = CASES[name]
        assert summary in output.splitlines()[-1], f"{name}:\n{output}"
        pytest.LineMatcher(output.splitlines()).fnmatch_lines([line])


@pytest.mark.parametrize(
    ("args", "env", "variable"),
    [
        (["--nim-mode=live"], {}, "NIM_ENDPOINT"),
        (["--nim-mode=record"], {}, "NIM_ENDPOINT"),
        (["--nim-mode=live"], {"NIM_ENDPOINT": "https://integrate.api.nvidia.com/v1"}, "NVIDIA_API_KEY"),
    ],
)
def test_a_command_line_mode_that_cannot_reach_its_endpoint_fails_the_session(
    tmp_path: Path, args: list[str], env: dict[str, str], variable: str
) -> None:
    root = project(tmp_path / "p")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "nim_mock.pytest_plugin", *args],
        cwd=root,
        env=clean_environment(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith("ERROR: nim-harness: ")
    assert variable in errors[0]
    assert "--nim-harness-no-endpoint=skip" in errors[0]
    assert "passed" not in done.stdout


def test_the_entry_point_loads_in_a_project_that_only_installed_the_package(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_plain=PLAIN_TEST)
    target = pytester.path / "cassettes" / "chat" / "plain.json"
    target.parent.mkdir(parents=True)
    shutil.copy(bundled_cassettes_dir() / "chat" / "plain.json", target)
    assert not (pytester.path / "conftest.py").exists()
    lean = [f"-pno:{name}" for name in ("langsmith_plugin", "codspeed", "benchmark", "recording", "syrupy")]
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", *lean, "--nim-mode=mock", "--nim-harness-cassettes=cassettes"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["nim-harness: mode=mock (--nim-mode)*", "plugins:*nim-harness*"])
