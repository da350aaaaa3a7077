"""The identity a test's mock answers as: the plugin's setting, and the ``nim`` marker's ``identity=``."""

from __future__ import annotations

import pytest
from plugin_runs import run

from nim_mock.plugin.marker import MarkerError, parse_marker

PROBE = """
import httpx
import pytest


def _server(base_url):
    headers = httpx.get(base_url + "/models").headers
    return headers.get("server"), headers.get("vary")


def test_plugin_default(nim_harness_base_url):
    assert _server(nim_harness_base_url) == EXPECTED


@pytest.mark.nim(on_miss="synthesize", identity="hosted")
def test_marker_wins(nim_harness_base_url):
    answer = httpx.get(nim_harness_base_url + "/models")
    assert "server" not in answer.headers
    assert answer.headers["nvcf-status"] == "fulfilled"
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [((), ("uvicorn", None)), (("--nim-harness-identity=nim2",), ("uvicorn", "Origin"))],
)
def test_the_option_sets_every_tests_identity_and_the_marker_one_tests(
    project: pytest.Pytester, args: tuple[str, ...], expected: tuple[str, str | None]
) -> None:
    project.makepyfile(
        test_inner_identity=f"EXPECTED = {expected!r}\n"
        + PROBE.replace(
            "def test_plugin_default(nim_harness_base_url):",
            '@pytest.mark.nim(on_miss="synthesize")\ndef test_plugin_default(nim_harness_base_url):',
        )
    )
    run(project, *args).assert_outcomes(passed=2)


def test_the_marker_names_a_known_identity() -> None:
    assert parse_marker((), {"identity": "nim2"}).identity == "nim2"
    assert parse_marker((), {}).identity is None
    with pytest.raises(MarkerError, match="must be one of nim1, nim2, hosted, got 'vllm'"):
        parse_marker((), {"identity": "vllm"})
