"""Whole pytest runs in mock mode: replay, naming, misses, the guard, the marker, options."""

from __future__ import annotations

import shutil

import pytest
from plugin_runs import SHARED_TEST, run


def test_mock_mode_replays_the_cassette_the_marker_names(project: pytest.Pytester) -> None:
    project.makepyfile(
        SHARED_TEST
        + """
@pytest.mark.nim(cassette="chat/plain")
def test_plain(
    nim_harness_http_client, nim_harness_mode, nim_harness_model, nim_harness_cassette, nim_harness_base_url
):
    assert nim_harness_mode == "mock"
    assert nim_harness_model == "meta/llama-3.1-8b-instruct"
    assert nim_harness_cassette.as_posix().endswith("cassettes/chat/plain.json")
    assert nim_harness_base_url.startswith("http://127.0.0.1:") and nim_harness_base_url.endswith("/v1")
    answer = nim_harness_http_client.post("chat/completions", json=recorded_body("chat/plain"))
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["finish_reason"] == "stop"
"""
    )
    run(project, "--strict-markers").assert_outcomes(passed=1)


def test_a_derived_cassette_name_comes_from_module_and_test(project: pytest.Pytester) -> None:
    derived = project.path / "cassettes" / "test_inner_derived" / "TestGroup.test_it[one].json"
    derived.parent.mkdir(parents=True)
    shutil.copy(project.path / "cassettes" / "chat" / "plain.json", derived)
    project.makepyfile(
        test_inner_derived=SHARED_TEST
        + """
class TestGroup:
    @pytest.mark.parametrize("n", ["one"])
    def test_it(self, n, nim_harness_cassette, nim_harness_http_client):
        assert nim_harness_cassette.name == "TestGroup.test_it[one].json"
        answer = nim_harness_http_client.post("chat/completions", json=recorded_body("chat/plain"))
        assert answer.status_code == 200
"""
    )
    run(project).assert_outcomes(passed=1)


def test_a_missing_cassette_fails_with_its_path_and_the_record_command(project: pytest.Pytester) -> None:
    project.makepyfile(test_inner_missing="def test_it(nim_harness_base_url):\n    pass\n")
    result = run(project)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*nim-harness: no cassette for this test; looked for */cassettes/test_inner_missing/test_it.json",
            "*Record it against a real endpoint with:",
            "*pytest test_inner_missing.py::test_it --nim-mode=record --nim-harness-endpoint=http://localhost:8000/v1"
            " --nim-harness-cassettes=*/cassettes",
        ]
    )


def test_a_missing_cassette_can_skip_instead(project: pytest.Pytester) -> None:
    project.makepyfile(test_inner_missing="def test_it(nim_harness_base_url):\n    pass\n")
    result = run(project, "--nim-harness-missing=skip", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED*nim-harness: no cassette for this test; looked for */test_it.json Record*"]
    )


def test_a_miss_shows_the_mock_diff_and_the_record_command(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_inner_miss=SHARED_TEST
        + """
@pytest.mark.nim(cassette="chat/plain")
def test_other_temperature(nim_harness_http_client):
    body = {**recorded_body("chat/plain"), "temperature": 0.9}
    assert nim_harness_http_client.post("chat/completions", json=body).status_code == 200
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
            "*pytest test_inner_miss.py::test_other_temperature --nim-mode=record *",
        ]
    )


def test_each_test_replays_its_cassette_from_the_start(project: pytest.Pytester) -> None:
    project.makepyfile(
        SHARED_TEST
        + """
@pytest.mark.parametrize("n", range(3))
@pytest.mark.nim(cassette="chat/plain")
def test_shared(n, nim_harness_http_client):
    answer = nim_harness_http_client.post("chat/completions", json=recorded_body("chat/plain"))
    assert answer.headers.get("x-nim-mock-miss") is None
"""
    )
    run(project).assert_outcomes(passed=3)


def test_the_network_guard_blocks_other_hosts(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
import shutil

import pytest
@pytest.mark.nim(cassette="chat/plain")
def test_escape(nim_harness_http_client):
    nim_harness_http_client.get("https://integrate.api.nvidia.com/v1/models")
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
import shutil

import pytest
from nim_mock.plugin.guard import NetworkBlockedError

@pytest.mark.nim(cassette="chat/plain")
def test_sync(nim_harness_chat):
    llm = nim_harness_chat(base_url="https://integrate.api.nvidia.com/v1")
    with pytest.raises(NetworkBlockedError, match="integrate.api.nvidia.com"):
        llm.invoke("hi")

@pytest.mark.nim(cassette="chat/plain")
async def test_async(nim_harness_chat):
    llm = nim_harness_chat(base_url="https://integrate.api.nvidia.com/v1")
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
import shutil

import pytest
@pytest.mark.nim(cassette="chat/broken")
def test_it(nim_harness_base_url):
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
import shutil

import pytest
@pytest.mark.nim(casette="chat/plain")
def test_typo(nim_harness_base_url):
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
import shutil

import pytest
from nim_mock.cassettes.persist import bundled_cassettes_dir

@pytest.mark.nim(cassette="bundled:models/list")
def test_listing(nim_harness_http_client, nim_harness_cassette, nim_harness_model):
    assert nim_harness_cassette == bundled_cassettes_dir() / "models" / "list.json"
    assert nim_harness_http_client.get("models").json()["object"] == "list"
"""
    )
    run(project).assert_outcomes(passed=1)
    recorded = run(project, f"--nim-harness-endpoint={upstream}/v1", mode="record")
    recorded.assert_outcomes(errors=1)
    recorded.stdout.fnmatch_lines(
        ["*bundled:models/list is a cassette shipped with nim-harness and is replayed only*"]
    )


def test_marker_model_overrides_the_cassette_model(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
import shutil

import pytest
@pytest.mark.nim(cassette="chat/plain", model="org/other")
def test_model(nim_harness_model):
    assert nim_harness_model == "org/other"
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
        ["nim-harness: test NVIDIA NIM apps against cassettes or a live endpoint:", "*--nim-mode=MODE*"]
    )


def test_the_header_names_where_the_mode_came_from(project: pytest.Pytester) -> None:
    project.makepyfile("def test_x(): pass")
    run(project).stdout.fnmatch_lines(
        ["nim-harness: mode=mock (--nim-mode), cassettes=*cassettes (--nim-harness-cassettes)*"]
    )


_CHUNKS_OF_A_STREAM = (
    SHARED_TEST
    + """
import socket
from urllib.parse import urlsplit


def chunks_of(base_url, body):
    '''The chunked-encoding data chunks of a streamed answer, read on a raw socket.'''
    url = urlsplit(base_url)
    payload = json.dumps(body).encode()
    head = (
        f"POST {url.path}/chat/completions HTTP/1.1\\r\\nhost: x\\r\\nconnection: close\\r\\n"
        f"content-type: application/json\\r\\ncontent-length: {len(payload)}\\r\\n\\r\\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(head.encode() + payload)
        received = b""
        while piece := sock.recv(65536):
            received += piece
    rest = received.partition(b"\\r\\n\\r\\n")[2]
    chunks = []
    while True:
        size_line, _, rest = rest.partition(b"\\r\\n")
        size = int(size_line, 16)
        if size == 0:
            return chunks
        chunks.append(rest[:size])
        rest = rest[size + 2 :]


@pytest.mark.nim(cassette="bundled:chat/stream_usage")
def test_chunks(nim_harness_base_url, nim_harness_cassette, nim_harness_settings):
    interaction = json.loads(nim_harness_cassette.read_text())["interactions"][0]
    chunks = chunks_of(nim_harness_base_url, interaction["request"]["json"])
    events = interaction["response"]["events"]
    assert len(chunks) == (1 if nim_harness_settings.speed == 0 else len(events))
"""
)


@pytest.mark.parametrize("speed", ["0", "0.01"])
def test_at_speed_0_a_stream_reaches_the_test_in_one_write_and_else_event_by_event(
    project: pytest.Pytester, speed: str
) -> None:
    """The client under test shares the server's process: one write spares a GIL hand-over per event."""
    project.makepyfile(_CHUNKS_OF_A_STREAM)
    run(project, f"--nim-harness-speed={speed}").assert_outcomes(passed=1)
