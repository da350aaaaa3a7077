"""Fault injection as the server shows it: log lines, metrics, seeded runs, the CLI, the raw wire."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_runs import run_cli, serve_process

from nim_mock import bundled_cassettes_dir, create_app, load_cassettes, serve_in_thread
from nim_mock.faults.rules import parse_fault_rules

CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def bundled() -> Any:
    return load_cassettes([bundled_cassettes_dir()])


def recorded(bundled: Any, name: str, index: int = 0) -> Any:
    return next(c for c in bundled if c.name == name).interactions[index]


def test_same_seed_same_faulted_requests(bundled: Any) -> None:
    app = create_app(bundled)

    def faulted(client: httpx.Client, url: str, seed: int) -> list[int]:
        app.state.faults.replace(
            parse_fault_rules({"seed": seed, "rules": [{"when": {"probability": 0.3}, "fault": "503"}]})
        )
        statuses = [client.get(url + "/v1/health/ready").status_code for _ in range(30)]
        numbers = [i + 1 for i, status in enumerate(statuses) if status == 503]
        assert [a.number for a in app.state.faults.applied] == numbers
        return numbers

    with serve_in_thread(app) as url, httpx.Client(timeout=5) as client:
        first = faulted(client, url, seed=11)
        assert first == faulted(client, url, seed=11)
        assert 0 < len(first) < 30
        assert first != faulted(client, url, seed=12)


def test_each_fault_is_in_the_log_line_and_counted(
    bundled: Any, caplog: pytest.LogCaptureFixture, build: Any
) -> None:
    stream = recorded(bundled, "chat/stream_usage")
    plain = recorded(bundled, "chat/plain")
    app = create_app(bundled)
    caplog.set_level(logging.INFO, logger="nim_mock")
    with serve_in_thread(app) as url, httpx.Client(timeout=5) as client:

        def post(body: Any, fault: str) -> int:
            try:
                return client.post(url + CHAT, json=body, headers={"x-nim-mock-fault": fault}).status_code
            except httpx.RemoteProtocolError:
                return -1

        assert post(plain.request.body, "429;retry_after=1") == 429
        assert post(stream.request.body, "cut;after=2, slow_tokens;ms=1") == -1
        assert post(plain.request.body, "cut;after=2") == 200  # not a stream: nothing to cut
        assert post(plain.request.body, "503, 500") == 503
        assert build.wait_for(lambda: len([r for r in caplog.records if "[faults:" in r.getMessage()]) == 4)
        metrics = client.get(url + "/v1/metrics").text
    lines = [r.getMessage() for r in caplog.records if "[faults:" in r.getMessage()]
    assert (
        lines[0]
        == "POST /v1/chat/completions 429 not asked (fault answered) [faults: 429 retry_after=1 <header>]"
    )
    assert lines[1] == (
        "POST /v1/chat/completions 200 chat/stream_usage#1 "
        "[faults: cut after=2 <header>; slow_tokens ms=1 <header>]"
    )
    assert lines[2] == (
        "POST /v1/chat/completions 200 chat/plain#1 "
        "[faults: cut after=2 <header> (not applied: not a stream)]"
    )
    assert lines[3].endswith(
        "[faults: 503 <header>; 500 <header> (ignored: another fault already decides this)]"
    )
    for kind, count in [("rate_limit", 1), ("cut", 1), ("slow_tokens", 1), ("server_error", 1)]:
        assert build.metric_value(metrics, f'nim_mock_faults_total{{kind="{kind}"}}') == count
    assert 'nim_mock_requests_total{method="POST",route="/v1/chat/completions",status="429"} 1' in metrics


@pytest.mark.parametrize("layout", ["nim", "vllm"])
def test_a_bad_header_is_a_nim_shaped_400(bundled: Any, layout: str) -> None:
    with serve_in_thread(create_app(bundled, error_layout=layout)) as url:
        answer = httpx.post(url + CHAT, json={}, headers={"x-nim-mock-fault": "cut;after=x"}, timeout=5)
    assert answer.status_code == 400
    body = answer.json()
    error = body if layout == "nim" else body["error"]
    assert error["code"] == 400
    assert error["type"] == "BadRequestError"
    assert (
        "after: must be a whole number >= 0, got 'x'; the header reads KIND[;NAME=VALUE]" in error["message"]
    )


def test_rules_target_path_model_and_stream(bundled: Any) -> None:
    stream = recorded(bundled, "chat/stream_usage")
    plain = recorded(bundled, "chat/plain")
    rules = parse_fault_rules(
        {"rules": [{"match": {"path": CHAT, "model": "meta/llama-3.1-*", "stream": True}, "fault": "502"}]}
    )
    with serve_in_thread(create_app(bundled, faults=rules)) as url, httpx.Client(timeout=5) as client:
        assert client.post(url + CHAT, json=stream.request.body).status_code == 502
        assert client.post(url + CHAT, json=plain.request.body).status_code == 200
        other_model = {**stream.request.body, "model": "deepseek-ai/deepseek-r1"}
        assert client.post(url + CHAT, json=other_model).status_code == 404  # a miss, not a fault
        assert client.get(url + "/v1/models").status_code == 200


def test_a_recorded_202_flow_still_replays_and_unknown_ids_reach_the_cassettes(bundled: Any) -> None:
    post, first_poll, _ = next(c for c in bundled if c.name == "errors/gateway_202_polling").interactions
    with serve_in_thread(create_app(bundled)) as url, httpx.Client(timeout=5) as client:
        assert client.post(url + post.request.path, json=post.request.body).status_code == 202
        assert client.get(url + first_poll.request.path).status_code == 202  # recorded, not ours
        assert client.get(url + "/v2/nvcf/pexec/status/nobody").status_code == 404


def test_stream_error_event_bytes_on_the_wire(bundled: Any) -> None:
    stream = recorded(bundled, "chat/stream_usage")
    head = b"".join(event.raw for event in stream.response.events[:2])
    fault = "stream_error;after=2;layout=vllm;code=400;message=prompt too long"
    with serve_in_thread(create_app(bundled)) as url:
        answer = httpx.post(
            url + CHAT, json=stream.request.body, headers={"x-nim-mock-fault": fault}, timeout=5
        )
    assert answer.status_code == 200
    assert answer.content == head + (
        b'data: {"error": {"message": "prompt too long", "type": "BadRequestError", '
        b'"param": null, "code": 400}}\n\ndata: [DONE]\n\n'
    )


# -- CLI -------------------------------------------------------------------------------------------


def test_cli_bad_faults_file_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    rules = tmp_path / "faults.json"
    rules.write_text(json.dumps({"rules": [{"fault": {"kind": "rate_limit", "retry_after": "soon"}}]}))
    run = run_cli(["serve", "--port", "0", "--faults", str(rules)])
    assert run.code == 2
    assert run.err == (
        f"nim-mock: {rules}: rules[0].fault.retry_after: must be a number of seconds >= 0 (e.g. 2 or 0.2), "
        "got 'soon'\n"
    )
    missing = run_cli(["serve", "--faults", str(tmp_path / "nope.json")])
    assert missing.code == 2
    assert "nope.json: cannot read the faults file" in missing.err
    assert "Traceback" not in run.err + missing.err


def test_cli_bad_seed_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        run_cli(["serve", "--seed", "lucky"])
    assert stopped.value.code == 2
    assert "--seed: 'lucky' is not a whole number" in capsys.readouterr().err


def test_cli_serves_with_faults_and_seed(tmp_path: Path, bundled: Any) -> None:
    rules = tmp_path / "faults.json"
    rules.write_text(
        json.dumps(
            {"seed": 1, "rules": [{"match": {"path": CHAT}, "when": {"first": 1}, "fault": "cut;after=1"}]}
        )
    )
    stream = recorded(bundled, "chat/stream_usage")
    with serve_process(["--faults", str(rules), "--seed", "5"]) as served:
        assert "1 fault rule (seed 5)" in served.banner
        with httpx.Client(timeout=5) as client:
            with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
                client.post(served.base_url + "/chat/completions", json=stream.request.body)
            whole = client.post(served.base_url + "/chat/completions", json=stream.request.body)
            assert whole.content == b"".join(e.raw for e in stream.response.events)
    assert served.returncode == 0
    assert "[faults: cut after=1 <rules[0]>]" in served.err
    assert "ASGI callable returned without completing response" not in served.err
    assert "Traceback" not in served.err


def test_cut_leaves_the_socket_closed_without_a_final_chunk(bundled: Any) -> None:
    """On the raw socket: the events before the cut, no terminating ``0`` chunk, then EOF."""
    stream = recorded(bundled, "chat/stream_usage")
    body = json.dumps(stream.request.body).encode()
    with serve_in_thread(create_app(bundled)) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(
                b"POST " + CHAT.encode() + b" HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                b"x-nim-mock-fault: cut;after=1\r\ncontent-length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
    assert received.startswith(b"HTTP/1.1 200 OK")
    assert stream.response.events[0].raw in received
    assert stream.response.events[1].raw not in received
    assert not received.endswith(b"0\r\n\r\n")


def test_a_repeated_fault_header_is_read_as_one_list(
    bundled: Any, caplog: pytest.LogCaptureFixture, build: Any
) -> None:
    """HTTP reads a list header sent twice as its values joined by commas: both faults count."""
    plain = recorded(bundled, "chat/plain")
    caplog.set_level(logging.INFO, logger="nim_mock")
    with serve_in_thread(create_app(bundled)) as url:
        headers = [("x-nim-mock-fault", "503"), ("x-nim-mock-fault", "500")]
        answer = httpx.post(url + CHAT, json=plain.request.body, headers=headers, timeout=5)
        assert build.wait_for(lambda: any("[faults:" in r.getMessage() for r in caplog.records))
    assert answer.status_code == 503
    line = next(r.getMessage() for r in caplog.records if "[faults:" in r.getMessage())
    assert line.endswith("[faults: 503 <header>; 500 <header> (ignored: another fault already decides this)]")
