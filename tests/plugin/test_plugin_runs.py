"""Whole pytest runs with the plugin (in-process ``pytester``): mock, live and record modes end to end.

In-process runs read the outer process's environment, so every run here names ``--nim-mode`` and
``--nim-cassettes`` on the command line (which beats the environment): a ``NIM_MODE`` exported in
the shell cannot change these outcomes. Rules that need a controlled environment are tested in
``test_plugin_subprocess.py``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from plugin_upstream import upstream_app

from nim_mock._persist import bundled_cassettes_dir
from nim_mock._server import RunningServer

KEY = "nvapi-" + "Zq9" * 8

SHARED_TEST = """
import json, pytest

def recorded_body(name):
    with open(f"cassettes/{name}.json") as f:
        return json.load(f)["interactions"][0]["request"]["json"]
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with an ini file and the bundled ``chat/plain`` cassette under ``cassettes/``."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    target = pytester.path / "cassettes" / "chat" / "plain.json"
    target.parent.mkdir(parents=True)
    shutil.copy(bundled_cassettes_dir() / "chat" / "plain.json", target)
    return pytester


def run(pytester: pytest.Pytester, *args: str, mode: str = "mock") -> pytest.RunResult:
    return pytester.runpytest(
        "-p", "no:cacheprovider", f"--nim-mode={mode}", "--nim-cassettes=cassettes", *args
    )


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = RunningServer(upstream_app(0.25))
    yield server.start()
    server.stop()


def test_mock_mode_replays_the_cassette_the_marker_names(project: pytest.Pytester) -> None:
    project.makepyfile(
        SHARED_TEST
        + """
@pytest.mark.nim(cassette="chat/plain")
def test_plain(nim_http_client, nim_mode, nim_model, nim_cassette, nim_base_url):
    assert nim_mode == "mock"
    assert nim_model == "meta/llama-3.1-8b-instruct"
    assert nim_cassette.as_posix().endswith("cassettes/chat/plain.json")
    assert nim_base_url.startswith("http://127.0.0.1:") and nim_base_url.endswith("/v1")
    answer = nim_http_client.post("chat/completions", json=recorded_body("chat/plain"))
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["finish_reason"] == "stop"
"""
    )
    run(project, "--strict-markers").assert_outcomes(passed=1)


def test_a_derived_cassette_name_comes_from_module_and_test(project: pytest.Pytester) -> None:
    derived = project.path / "cassettes" / "test_derived" / "TestGroup.test_it[one].json"
    derived.parent.mkdir(parents=True)
    shutil.copy(project.path / "cassettes" / "chat" / "plain.json", derived)
    project.makepyfile(
        test_derived=SHARED_TEST
        + """
class TestGroup:
    @pytest.mark.parametrize("n", ["one"])
    def test_it(self, n, nim_cassette, nim_http_client):
        assert nim_cassette.name == "TestGroup.test_it[one].json"
        assert nim_http_client.post("chat/completions", json=recorded_body("chat/plain")).status_code == 200
"""
    )
    run(project).assert_outcomes(passed=1)


def test_a_missing_cassette_fails_with_its_path_and_the_record_command(project: pytest.Pytester) -> None:
    project.makepyfile(test_missing="def test_it(nim_base_url):\n    pass\n")
    result = run(project)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*nim-harness: no cassette for this test; looked for */cassettes/test_missing/test_it.json",
            "*Record it against a real endpoint with:",
            "*pytest test_missing.py::test_it --nim-mode=record --nim-endpoint=http://localhost:8000/v1"
            " --nim-cassettes=*/cassettes",
        ]
    )


def test_a_miss_shows_the_mock_diff_and_the_record_command(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_miss=SHARED_TEST
        + """
@pytest.mark.nim(cassette="chat/plain")
def test_other_temperature(nim_http_client):
    body = {**recorded_body("chat/plain"), "temperature": 0.9}
    assert nim_http_client.post("chat/completions", json=body).status_code == 200
"""
    )
    result = run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- nim-mock misses -*",
            "no recorded interaction matches POST /v1/chat/completions.*differs at: temperature: "
            "recorded 0.2, sent 0.9*",
            "Re-record this test's cassette with:",
            "*pytest test_miss.py::test_other_temperature --nim-mode=record *",
        ]
    )


def test_each_test_replays_its_cassette_from_the_start(project: pytest.Pytester) -> None:
    project.makepyfile(
        SHARED_TEST
        + """
@pytest.mark.parametrize("n", range(3))
@pytest.mark.nim(cassette="chat/plain")
def test_shared(n, nim_http_client):
    answer = nim_http_client.post("chat/completions", json=recorded_body("chat/plain"))
    assert answer.headers.get("x-nim-mock-miss") is None
"""
    )
    run(project).assert_outcomes(passed=3)


def test_the_network_guard_blocks_other_hosts(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
import pytest
@pytest.mark.nim(cassette="chat/plain")
def test_escape(nim_http_client):
    nim_http_client.get("https://integrate.api.nvidia.com/v1/models")
"""
    )
    result = run(project)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*NetworkBlockedError: nim-harness mock mode blocked a request to https://integrate.api.nvidia.com/v1/models*"
        ]
    )


def test_chat_nvidia_is_guarded_too(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
import pytest
from nim_mock._plugin_guard import NetworkBlockedError

@pytest.mark.nim(cassette="chat/plain")
def test_sync(chat_nvidia):
    llm = chat_nvidia(base_url="https://integrate.api.nvidia.com/v1")
    with pytest.raises(NetworkBlockedError, match="integrate.api.nvidia.com"):
        llm.invoke("hi")

@pytest.mark.nim(cassette="chat/plain")
async def test_async(chat_nvidia):
    llm = chat_nvidia(base_url="https://integrate.api.nvidia.com/v1")
    with pytest.raises(NetworkBlockedError, match="integrate.api.nvidia.com"):
        await llm.ainvoke("hi")
"""
    )
    run(project, "--asyncio-mode=auto").assert_outcomes(passed=2)


def test_a_broken_cassette_fails_naming_the_file(project: pytest.Pytester) -> None:
    broken = project.path / "cassettes" / "chat" / "broken.json"
    broken.write_text('{"format": "nim-harness.cassette", "version": 99, "interactions": []}')
    project.makepyfile(
        """
import pytest
@pytest.mark.nim(cassette="chat/broken")
def test_it(nim_base_url):
    pass
"""
    )
    result = run(project)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*nim-harness: cannot replay */cassettes/chat/broken.json: *version*"])


def test_the_marker_is_registered_and_checked(project: pytest.Pytester) -> None:
    run(project, "--markers").stdout.fnmatch_lines(
        ["@pytest.mark.nim(cassette=None, model=None, ignore=()):*"]
    )
    project.makepyfile(
        """
import pytest
@pytest.mark.nim(casette="chat/plain")
def test_typo(nim_base_url):
    pass
"""
    )
    result = run(project, "--strict-markers")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*nim marker got unknown argument(s) casette; it takes: cassette, model, ignore*"]
    )


def test_bundled_cassettes_replay_without_copying(project: pytest.Pytester, upstream: str) -> None:
    project.makepyfile(
        """
import pytest
from nim_mock._persist import bundled_cassettes_dir

@pytest.mark.nim(cassette="bundled:models/list")
def test_listing(nim_http_client, nim_cassette, nim_model):
    assert nim_cassette == bundled_cassettes_dir() / "models" / "list.json"
    assert nim_http_client.get("models").json()["object"] == "list"
"""
    )
    run(project).assert_outcomes(passed=1)
    recorded = run(project, f"--nim-endpoint={upstream}/v1", mode="record")
    recorded.assert_outcomes(errors=1)
    recorded.stdout.fnmatch_lines(
        ["*bundled:models/list is a cassette shipped with nim-harness and is replayed only*"]
    )


def test_marker_model_overrides_the_cassette_model(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
import pytest
@pytest.mark.nim(cassette="chat/plain", model="org/other")
def test_model(nim_model):
    assert nim_model == "org/other"
"""
    )
    run(project).assert_outcomes(passed=1)


def test_a_bad_mode_is_a_usage_error_listing_the_valid_ones(project: pytest.Pytester) -> None:
    result = run(project, mode="replay")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*nim-harness: --nim-mode: unknown mode 'replay'; use one of: mock, record, live"]
    )


def test_options_have_their_own_help_group(project: pytest.Pytester) -> None:
    run(project, "--help").stdout.fnmatch_lines(
        ["nim-harness: test NVIDIA NIM apps against cassettes or a live endpoint:", "*--nim-mode=NIM_MODE*"]
    )


def test_the_header_names_where_the_mode_came_from(project: pytest.Pytester) -> None:
    project.makepyfile("def test_x(): pass")
    run(project).stdout.fnmatch_lines(
        ["nim-harness: mode=mock (--nim-mode), cassettes=*cassettes (--nim-cassettes)*"]
    )


def test_live_mode_talks_to_the_endpoint_directly(project: pytest.Pytester, upstream: str) -> None:
    project.makepyfile(
        f"""
def test_live(nim_base_url, nim_http_client, nim_mode):
    assert nim_mode == "live"
    assert nim_base_url == "{upstream}/v1"
    assert nim_http_client.get("models").json()["data"][0]["id"] == "up/model"
"""
    )
    run(project, f"--nim-endpoint={upstream}/v1", mode="live").assert_outcomes(passed=1)


RECORDED_TEST = """
import time, pytest

BODY = {"model": "up/model", "messages": [{"role": "user", "content": "hi"}], "stream": True}

@pytest.mark.nim(cassette="rec/stream")
def test_stream(nim_http_client, nim_mode, nim_settings):
    arrivals = []
    headers = {"authorization": "Bearer %(key)s"}
    with nim_http_client.stream("POST", "chat/completions", json=BODY, headers=headers) as r:
        assert r.status_code == 200
        for chunk in r.iter_raw():
            arrivals.append((time.monotonic(), chunk))
    data = b"".join(c for _, c in arrivals)
    assert data.count(b"data: ") == 4 and data.endswith(b"data: [DONE]\\n\\n")
    if nim_mode == "record" or nim_settings.speed == 1:
        first = next(t for t, c in arrivals if b"heard" in c)
        last = next(t for t, c in arrivals if b"[DONE]" in c)
        assert last - first > 0.25  # the upstream sends the last event 0.5 s after the first

@pytest.mark.nim(cassette="rec/failing")
def test_failing(nim_http_client):
    nim_http_client.post("chat/completions", json={**BODY, "stream": False})
    assert False, "this test fails, so its cassette must not be written"
"""


def test_record_then_replay(project: pytest.Pytester, upstream: str) -> None:
    project.makepyfile(test_rec=RECORDED_TEST % {"key": KEY})
    recorded = run(project, f"--nim-endpoint={upstream}/v1", mode="record")
    recorded.assert_outcomes(passed=1, failed=1)
    recorded.stdout.fnmatch_lines(["*nim-harness recorded 1 cassette(s)*", "*cassettes/rec/stream.json"])
    cassette = project.path / "cassettes" / "rec" / "stream.json"
    text = cassette.read_text("utf-8")
    assert KEY not in text
    assert "Bearer REDACTED" in text
    assert "heard Bearer REDACTED" in text
    assert not (project.path / "cassettes" / "rec" / "failing.json").exists()
    document = json.loads(text)
    [interaction] = document["interactions"]
    assert interaction["request"]["path"] == "/v1/chat/completions"
    assert interaction["request"]["headers"]["authorization"] == "REDACTED"
    offsets = [event["t_ms"] for event in interaction["response"]["events"]]
    assert offsets == sorted(offsets)
    assert offsets[-1] - offsets[0] > 250
    run(project, "-k", "test_stream").assert_outcomes(passed=1)
    run(project, "-k", "test_stream", "--nim-speed=1").assert_outcomes(passed=1)


def test_record_mode_reports_a_dropped_upstream_and_writes_nothing(
    project: pytest.Pytester, upstream: str
) -> None:
    project.makepyfile(
        """
import httpx, pytest
@pytest.mark.nim(cassette="rec/dies")
def test_dies(nim_http_client):
    body = {"model": "up/model", "messages": [], "stream": True, "die": True}
    with pytest.raises(httpx.RemoteProtocolError):
        with nim_http_client.stream("POST", "chat/completions", json=body) as r:
            r.read()
"""
    )
    result = run(project, f"--nim-endpoint={upstream}/v1", mode="record")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*nim-harness did not write */rec/dies.json: POST *upstream dropped the response*"]
    )
    assert not (project.path / "cassettes" / "rec" / "dies.json").exists()


def test_live_mode_reports_drift_from_the_cassette(project: pytest.Pytester, upstream: str) -> None:
    project.makepyfile(
        test_drift="""
import pytest
BODY = {"model": "up/model", "messages": [{"role": "user", "content": "hi"}], "stream": True}

@pytest.mark.nim(cassette="drift/stream")
def test_stream(nim_http_client):
    with nim_http_client.stream("POST", "chat/completions", json=BODY) as r:
        r.read()
"""
    )
    endpoint = f"--nim-endpoint={upstream}/v1"
    run(project, endpoint, mode="record").assert_outcomes(passed=1)
    same = run(project, endpoint, mode="live")
    same.assert_outcomes(passed=1)
    assert "nim-harness drift" not in same.stdout.str()
    # Pretend the server used to answer differently: another finish reason, and a field now gone.
    path = project.path / "cassettes" / "drift" / "stream.json"
    document = json.loads(path.read_text())
    events = document["interactions"][0]["response"]["events"]
    events[-2]["data"]["choices"][0]["finish_reason"] = "length"
    events[-2]["data"]["system_fingerprint"] = "fp"
    path.write_text(json.dumps(document))
    drifted = run(project, endpoint, mode="live")
    drifted.assert_outcomes(passed=1)
    drifted.stdout.fnmatch_lines(
        [
            "*- nim-harness drift: 1 live answer(s) differ from their cassette -*",
            "test_drift.py::test_stream (cassette drift/stream):",
            "    #1 POST /v1/chat/completions: finish reasons: recorded ['length'], live ['stop']",
            "    #1 POST /v1/chat/completions: no longer sent: system_fingerprint",
        ]
    )


OUTCOMES_TEST = (
    SHARED_TEST
    + """
@pytest.mark.nim(cassette="chat/plain")
@pytest.mark.parametrize("n", range(4))
def test_hit(n, nim_http_client):
    assert nim_http_client.post("chat/completions", json=recorded_body("chat/plain")).status_code == 200

@pytest.mark.nim(cassette="chat/plain")
def test_miss(nim_http_client):
    assert nim_http_client.post("chat/completions", json={"model": "x", "messages": []}).status_code == 200

def test_missing(nim_base_url):
    pass

def test_plain():
    pass
"""
)


LEAN = [
    f"-pno:{name}" for name in ("langsmith_plugin", "codspeed", "benchmark", "recording", "respx", "syrupy")
]
"""Plugins the worker processes need not import (each costs start-up time in every worker)."""


def test_xdist_gives_the_same_outcomes_as_a_serial_run(project: pytest.Pytester) -> None:
    project.makepyfile(test_outcomes=OUTCOMES_TEST)
    serial = run(project).parseoutcomes()
    parallel = run(project, "-n", "2", *LEAN).parseoutcomes()
    assert serial == {"passed": 5, "failed": 1, "errors": 1} | {
        k: v for k, v in serial.items() if k == "seconds"
    }
    assert {k: v for k, v in parallel.items() if k != "seconds"} == {
        k: v for k, v in serial.items() if k != "seconds"
    }
