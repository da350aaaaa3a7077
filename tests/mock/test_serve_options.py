"""``nim-mock serve``'s process options: log level and format, --quiet, --workers, and the NIM environment."""

from __future__ import annotations

import json

import httpx
import pytest
from cli_runs import run_cli, serve_process

from nim_mock import bundled_cassettes_dir, load_cassettes
from nim_mock._serve_cli import ENV_DEFAULTS, env_problems, faults_for_worker
from nim_mock.cli import build_parser
from nim_mock.faults.kinds import FaultRules
from nim_mock.serve.metrics import WorkerLabel

NIM_ENV = {
    "NIM_SERVER_PORT": "9001",
    "NIM_LOG_LEVEL": "DEBUG",
    "NIM_JSONL_LOGGING": "true",
    "WEB_CONCURRENCY": "3",
}


def test_the_nim_environment_gives_serve_its_defaults() -> None:
    args = build_parser(NIM_ENV).parse_args(["serve"])
    assert (args.port, args.log_level, args.log_format, args.workers) == (9001, "debug", "json", 3)
    assert env_problems(args) == []


def test_options_on_the_command_line_win_over_the_environment() -> None:
    args = build_parser(NIM_ENV).parse_args(
        ["serve", "--port", "0", "--log-level", "error", "--log-format", "text", "--workers", "1"]
    )
    assert (args.port, args.log_level, args.log_format, args.workers) == (0, "error", "text", 1)


def test_without_the_environment_the_defaults_are_a_single_process_logging_text_at_info() -> None:
    args = build_parser({}).parse_args(["serve"])
    assert (args.port, args.log_level, args.log_format, args.workers, args.quiet) == (
        8000,
        "info",
        "text",
        1,
        False,
    )


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("NIM_SERVER_PORT", "eighty", "'eighty' is not a port number"),
        ("NIM_SERVER_PORT", "70000", "is not a port number (0-65535"),
        ("NIM_LOG_LEVEL", "loud", "not a log level (one of DEBUG, INFO, WARNING, ERROR, CRITICAL)"),
        ("NIM_JSONL_LOGGING", "maybe", "not a boolean (true or false)"),
        ("WEB_CONCURRENCY", "0", "give at least 1 worker process"),
        ("WEB_CONCURRENCY", "many", "is not a whole number of worker processes"),
    ],
)
def test_an_unusable_variable_stops_serve_with_exit_2_naming_it(name: str, value: str, says: str) -> None:
    run = run_cli(["serve"], env={name: value})
    assert run.code == 2
    option = ENV_DEFAULTS[name]
    assert f"nim-mock: environment variable {name}={value!r}: " in run.err
    assert says in run.err
    assert f"fix or unset it, or pass {option}" in run.err
    assert "Traceback" not in run.err


def test_an_option_given_on_the_command_line_makes_its_unusable_variable_harmless() -> None:
    args = build_parser({"NIM_SERVER_PORT": "eighty"}).parse_args(["serve", "--port", "0"])
    assert env_problems(args) == []
    assert env_problems(build_parser({"NIM_SERVER_PORT": "eighty"}).parse_args(["serve"]))


def test_log_levels_read_case_insensitively_like_a_nim_reads_them() -> None:
    assert build_parser({"NIM_LOG_LEVEL": " Warning "}).parse_args(["serve"]).log_level == "warning"
    assert build_parser({}).parse_args(["serve", "--log-level", "CRITICAL"]).log_level == "critical"


def test_help_lists_the_environment_variables_and_the_options_they_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        build_parser({}).parse_args(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # argparse wraps at hyphens
    for name, option in ENV_DEFAULTS.items():
        assert f"{name} ({option})" in text
    for option in ("--workers N", "--quiet", "--log-format {text,json}"):
        assert option in text


def test_zero_workers_is_refused_by_the_option_too(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser({}).parse_args(["serve", "--workers", "0"])
    assert stopped.value.code == 2
    assert "--workers: '0': give at least 1 worker process" in capsys.readouterr().err


def test_each_worker_but_the_first_gets_its_own_seed() -> None:
    rules = FaultRules(seed=40)
    assert faults_for_worker(rules, None) is rules
    assert faults_for_worker(rules, WorkerLabel(0, 3)) is rules
    seeds = [faults_for_worker(rules, WorkerLabel(i, 3)) for i in range(3)]
    assert [r.seed for r in seeds if r is not None] == [40, 41, 42]
    assert faults_for_worker(None, WorkerLabel(2, 3)) is None


def _ask(base_url: str) -> None:
    bundled = load_cassettes([bundled_cassettes_dir()])
    plain = next(c for c in bundled if c.name == "chat/plain").interactions[0]
    with httpx.Client(timeout=10.0) as client:
        assert client.get(base_url + "/health/ready").status_code == 200
        assert client.post(base_url + "/chat/completions", json=plain.request.body).status_code == 200


def test_quiet_leaves_the_request_lines_out() -> None:
    with serve_process(["--quiet"]) as served:
        _ask(served.base_url)
    assert served.returncode == 0
    assert "/v1/health/ready" not in served.err
    assert "Traceback" not in served.err


def test_json_log_format_writes_one_object_per_request() -> None:
    with serve_process(["--log-format", "json"]) as served:
        _ask(served.base_url)
    lines = [json.loads(line) for line in served.err.splitlines() if line.startswith("{")]
    assert [(line["method"], line["path"], line["status"], line["answer"]) for line in lines] == [
        ("GET", "/v1/health/ready", 200, "nim1 health"),
        ("POST", "/v1/chat/completions", 200, "chat/plain#1"),
    ]
    assert {line["level"] for line in lines} == {"INFO"}
    assert all("worker" not in line for line in lines)


def test_an_identity_that_contradicts_the_deprecated_error_layout_stops_serve() -> None:
    run = run_cli(["serve", "--identity", "nim2", "--error-layout", "nim", "--port", "0"], env={})
    assert run.code == 2
    assert "error_layout 'nim' contradicts identity 'nim2'" in run.err


def test_an_unknown_identity_in_the_environment_names_the_valid_ones() -> None:
    run = run_cli(["serve", "--port", "0"], env={"NIM_IDENTITY": "nim3"})
    assert run.code == 2
    assert "NIM_IDENTITY='nim3': not an identity (one of nim1, nim2, hosted)" in run.err
