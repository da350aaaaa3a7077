"""The per-mode decisions: skip reasons, model choice, the record command, the missing-cassette text."""

from __future__ import annotations

from pathlib import Path

import pytest

from nim_mock.plugin.modes import (
    DEFAULT_MODEL,
    choose_model,
    endpoint_parts,
    missing_cassette_message,
    record_command,
    session_error,
    skip_reason,
)
from nim_mock.plugin.options import Mode, Settings


def test_mock_mode_never_skips() -> None:
    assert skip_reason(Settings(mode=Mode.MOCK)) is None


@pytest.mark.parametrize("mode", [Mode.LIVE, Mode.RECORD])
def test_no_endpoint_skips_naming_the_variable(mode: Mode) -> None:
    reason = skip_reason(Settings(mode=mode))
    assert reason == (
        f"--nim-mode={mode.value} needs an endpoint: set NIM_ENDPOINT (or --nim-harness-endpoint, or "
        "nim_harness_endpoint in the ini file) to the server's base URL, e.g. http://localhost:8000/v1"
    )


def test_hosted_endpoint_without_a_key_skips_naming_nvidia_api_key() -> None:
    hosted = Settings(mode=Mode.LIVE, endpoint="https://integrate.api.nvidia.com/v1")
    assert skip_reason(hosted) == (
        "NVIDIA_API_KEY is not set: https://integrate.api.nvidia.com/v1 refuses requests without a key; "
        "export NVIDIA_API_KEY=nvapi-... or point NIM_ENDPOINT at a local NIM"
    )
    assert skip_reason(Settings(mode=Mode.LIVE, endpoint=hosted.endpoint, api_key="k")) is None
    assert skip_reason(Settings(mode=Mode.LIVE, endpoint="http://localhost:8000/v1")) is None


def test_only_a_command_line_mode_without_endpoint_stops_the_session() -> None:
    asked = Settings(mode=Mode.LIVE, sources={"mode": "--nim-mode"})
    assert session_error(asked) == (
        f"{skip_reason(asked)} (or pass --nim-harness-no-endpoint=skip to skip the tests that need it)"
    )
    assert session_error(Settings(mode=Mode.LIVE, sources={"mode": "$NIM_MODE"})) is None
    assert session_error(Settings(mode=Mode.RECORD, sources={"mode": "ini nim_harness_mode"})) is None
    opted_out = Settings(mode=Mode.LIVE, sources={"mode": "--nim-mode"}, skip_without_endpoint=True)
    assert session_error(opted_out) is None
    reachable = Settings(mode=Mode.LIVE, endpoint="http://gpu:8000/v1", sources={"mode": "--nim-mode"})
    assert session_error(reachable) is None
    assert session_error(Settings(mode=Mode.MOCK, sources={"mode": "--nim-mode"})) is None


def test_model_choice_order() -> None:
    mock = Settings(mode=Mode.MOCK, model="org/configured")
    live = Settings(mode=Mode.LIVE, model="org/configured")
    assert choose_model(mock, "org/marker", ("org/cassette",)) == "org/marker"
    assert choose_model(mock, None, ("org/cassette", "org/other")) == "org/cassette"
    assert choose_model(mock, None, ()) == "org/configured"
    assert choose_model(live, None, ("org/cassette",)) == "org/configured"
    assert choose_model(Settings(mode=Mode.LIVE), None, ()) == DEFAULT_MODEL
    # Asked for on the command line, the model is used in mock mode too (the report header says so).
    explicit = Settings(mode=Mode.MOCK, model="org/configured", sources={"model": "--nim-harness-model"})
    assert choose_model(explicit, None, ("org/cassette",)) == "org/configured"
    from_env = Settings(mode=Mode.MOCK, model="org/configured", sources={"model": "$NIM_MODEL"})
    assert choose_model(from_env, None, ("org/cassette",)) == "org/cassette"


def test_endpoint_parts() -> None:
    assert endpoint_parts("http://h:8000/v1") == ("http://h:8000", "/v1")
    assert endpoint_parts("https://h/") == ("https://h", "")


def test_record_command() -> None:
    root = Path("/proj")
    settings = Settings(mode=Mode.MOCK, endpoint="http://gpu:8000/v1")
    assert record_command("tests/t.py::test_a[x y]", settings, rootdir=root, invocation_dir=root) == (
        "pytest 'tests/t.py::test_a[x y]' --nim-mode=record --nim-harness-endpoint=http://gpu:8000/v1"
    )
    elsewhere = Settings(cassettes=Path("/c"), sources={"cassettes": "--nim-harness-cassettes"})
    assert record_command("t.py::test_b", elsewhere, rootdir=root, invocation_dir=Path("/proj/sub")) == (
        "cd /proj && pytest t.py::test_b --nim-mode=record --nim-harness-endpoint=http://localhost:8000/v1 "
        "--nim-harness-cassettes=/c"
    )


def test_missing_cassette_message() -> None:
    assert missing_cassette_message(Path("/c/t/x.json"), "pytest t.py::x --nim-mode=record") == (
        "nim-harness: no cassette for this test; looked for /c/t/x.json\n"
        "Record it against a real endpoint with:\n    pytest t.py::x --nim-mode=record\n"
        "or name an existing one with @pytest.mark.nim(cassette='<name under the cassette folder>')."
    )
