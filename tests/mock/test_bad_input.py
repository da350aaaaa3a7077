"""Bad requests get a clear NIM-shaped 4xx, in either error layout, and the server keeps serving.

Each case is followed by a good request on the same server, which must still be answered from
its cassette. The exact error bodies are snapshot-tested: their bytes are what clients parse.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nim_mock import RecordedRequest, RunningServer, create_app

MB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)  # by layout
    needle: str = ""


CHAT = "/v1/chat/completions"
JSON_CT = {"content-type": "application/json"}
CASES = {
    "malformed_json": Case(
        "POST",
        CHAT,
        b'{"model": "m",\n "messages": [',
        JSON_CT,
        {"nim": 400, "vllm": 400},
        "line 2 column 15",
    ),
    "wrong_content_type": Case(
        "POST",
        CHAT,
        b'{"messages": []}',
        {"content-type": "text/plain"},
        {"nim": 415, "vllm": 400},
        "Unsupported",
    ),
    "missing_content_type": Case("POST", CHAT, b"{}", {}, {"nim": 415, "vllm": 400}, "application/json"),
    "missing_messages": Case(
        "POST", CHAT, b'{"model": "m"}', JSON_CT, {"nim": 400, "vllm": 400}, "'messages'"
    ),
    "empty_messages": Case(
        "POST", CHAT, b'{"model": "m", "messages": []}', JSON_CT, {"nim": 400, "vllm": 400}, "at least one"
    ),
    "messages_not_a_list": Case(
        "POST", CHAT, b'{"messages": "hi"}', JSON_CT, {"nim": 400, "vllm": 400}, "must be a list"
    ),
    "body_not_an_object": Case("POST", CHAT, b"[1, 2]", JSON_CT, {"nim": 400, "vllm": 400}, "JSON object"),
    "body_not_utf8": Case("POST", CHAT, b'{"m": "\xff"}', JSON_CT, {"nim": 400, "vllm": 400}, "UTF-8"),
    "unknown_path": Case("GET", "/v1/nothing", status={"nim": 404, "vllm": 404}, needle="does not exist"),
    "get_on_post_route": Case("GET", CHAT, status={"nim": 405, "vllm": 405}, needle="use POST"),
    "post_on_get_route": Case("POST", "/v1/models", b"{}", JSON_CT, {"nim": 405, "vllm": 405}, "use GET"),
    "body_over_limit": Case(
        "POST", CHAT, b"x" * (10 * MB), JSON_CT, {"nim": 413, "vllm": 413}, "larger than the mock's limit"
    ),
    "no_cassette_matches": Case(
        "POST",
        "/v1/completions",
        b'{"model": "m", "prompt": "unrecorded"}',
        JSON_CT,
        {"nim": 404, "vllm": 404},
        "no recorded interaction matches POST /v1/completions",
    ),
}


@pytest.fixture(scope="module", params=["nim"])
def server(request: pytest.FixtureRequest, build: Any) -> Iterator[tuple[str, str]]:
    """One nim1 server for the whole module (cases do not change its state). The nim2 identity words
    its refusals as vLLM does; ``test_identities_validation`` pins those."""
    app = create_app([build.plain_chat()], error_layout=request.param)
    running = RunningServer(app)
    running.start()
    yield request.param, running.base_url
    running.stop()


def _still_serves(http: httpx.Client, base_url: str, build: Any) -> None:
    response = http.post(base_url + CHAT, json=build.chat_body("Hi"))
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Hello!"


def _error_fields(layout: str, body: dict[str, Any]) -> dict[str, Any]:
    if layout == "nim":
        assert list(body) == ["object", "message", "type", "param", "code"]
        assert body["object"] == "error"
        return body
    assert list(body) == ["error"]
    assert list(body["error"]) == ["message", "type", "param", "code"]
    return dict(body["error"])


@pytest.mark.parametrize("name", list(CASES))
def test_bad_request_gets_a_layout_shaped_error_and_server_keeps_serving(
    name: str, server: tuple[str, str], http: httpx.Client, build: Any, snapshot: Any
) -> None:
    layout, base_url = server
    case = CASES[name]
    response = http.request(case.method, base_url + case.path, content=case.content, headers=case.headers)
    assert response.status_code == case.status[layout]
    assert response.headers["content-type"] == "application/json"
    fields = _error_fields(layout, response.json())
    assert fields["code"] == response.status_code
    assert fields["param"] is None
    assert case.needle in fields["message"]
    if name != "no_cassette_matches":  # its message names a file path, which differs per machine
        assert response.content.decode("utf-8") == snapshot
    _still_serves(http, base_url, build)


def test_405_names_the_allowed_method(server: tuple[str, str], http: httpx.Client) -> None:
    _, base_url = server
    assert http.get(base_url + CHAT).headers["allow"] == "POST"
    assert http.put(base_url + "/v1/health/ready").headers["allow"] == "GET"


def test_a_miss_is_flagged_and_names_the_closest_cassette(
    server: tuple[str, str], http: httpx.Client, build: Any
) -> None:
    layout, base_url = server
    response = http.post(base_url + CHAT, json=build.chat_body("Hello there"))
    assert response.status_code == 404
    assert response.headers["x-nim-mock-miss"] == "1"
    fields = _error_fields(layout, response.json())
    assert fields["type"] == "NotFoundError"
    assert "Closest: chat/plain" in fields["message"]
    assert "messages.0.content: recorded 'Hi', sent 'Hello there'" in fields["message"]


def test_oversized_chunked_body_is_cut_off_at_the_limit(serve: Any, http: httpx.Client, build: Any) -> None:
    """No Content-Length to check up front: the limit applies while reading, without buffering it all."""
    base_url = serve([build.plain_chat()], max_body_bytes=1000)
    sent: list[int] = []

    def body() -> Iterator[bytes]:
        for _ in range(10):
            sent.append(500)
            yield b" " * 500

    response = http.post(base_url + CHAT, content=body(), headers=JSON_CT)
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["message"]
    _still_serves(http, base_url, build)


def test_body_exactly_at_the_limit_is_accepted(serve: Any, http: httpx.Client, build: Any) -> None:
    payload = json.dumps(build.chat_body("Hi")).encode()
    base_url = serve([build.plain_chat()], max_body_bytes=len(payload))
    assert http.post(base_url + CHAT, content=payload, headers=JSON_CT).status_code == 200
    assert http.post(base_url + CHAT, content=payload + b" ", headers=JSON_CT).status_code == 413


def test_client_leaving_mid_stream_is_counted_logged_and_harmless(
    serve: Any, http: httpx.Client, build: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="nim_mock")
    body = build.chat_body("long", stream=True)
    events = build.sse([(i * 100.0, f"t{i}") for i in range(30)])
    base_url = serve(
        [build.cassette("long", (build.post(body), build.stream_response(events))), build.plain_chat()],
        speed=1.0,
    )
    with (
        httpx.Client(timeout=10.0) as leaving,
        leaving.stream("POST", base_url + CHAT, json=body) as response,
    ):
        first = next(response.iter_raw())
        assert b'"content":"t0"' in first
    # The client is gone; the server notices without waiting for the remaining 2.9 s of events.
    deadline = time.monotonic() + 2.0
    metrics = ""
    while time.monotonic() < deadline:
        metrics = http.get(base_url + "/v1/metrics").text
        if build.metric_value(metrics, "nim_mock_stream_disconnects_total") >= 1:
            break
        time.sleep(0.02)
    assert build.metric_value(metrics, "nim_mock_stream_disconnects_total") == 1
    lines = [
        r.getMessage() for r in caplog.records if r.name == "nim_mock" and "disconnected" in r.getMessage()
    ]
    assert len(lines) == 1
    assert lines[0].startswith("POST /v1/chat/completions 200 long#1 (client disconnected after ")
    _still_serves(http, base_url, build)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=200) | st.text(max_size=80).map(str.encode),
    content_type=st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8", ""]),
    path=st.sampled_from([CHAT, "/v1/completions", "/v1/models", "/v1/health/ready", "/v1/zzz"]),
)
def test_any_body_gets_a_4xx_in_the_layout_never_a_500(
    server: tuple[str, str], http: httpx.Client, body: bytes, content_type: str, path: str
) -> None:
    layout, base_url = server
    headers = {"content-type": content_type} if content_type else {}
    response = http.post(base_url + path, content=body, headers=headers)
    assert 400 <= response.status_code < 500
    fields = _error_fields(layout, response.json())
    assert fields["code"] == response.status_code


REFUSED_BY_VLLM = {
    "error": {
        "message": "1 validation error: JSON decode error",
        "type": "Bad Request",
        "param": "body.10",
        "code": 400,
    }
}


@pytest.mark.parametrize(
    ("content", "other", "content_type"),
    [
        (b'{"model": ', b'{"model": "', "application/json"),
        (b"[]", b"[1]", "application/json"),
        (b'{"model": "m"}', b'{"model": "n"}', "application/json"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "Hi"}]}', b'{"model": "m"}', "text/plain"),
    ],
    ids=["malformed", "not_an_object", "no_messages", "wrong_content_type"],
)
def test_a_recorded_answer_to_the_very_same_bad_request_wins_over_the_mocks_own(
    content: bytes, other: bytes, content_type: str, serve: Any, http: httpx.Client, build: Any
) -> None:
    """A real server's recorded refusal is the better witness; any other bad body gets the mock's."""
    headers = {"content-type": content_type}
    try:
        request = RecordedRequest("POST", CHAT, headers, body=json.loads(content))
    except json.JSONDecodeError:
        request = RecordedRequest("POST", CHAT, headers, raw_body=content)
    recorded = build.json_response(REFUSED_BY_VLLM, status=400)
    base_url = serve([build.cassette("errors/recorded_refusal", (request, recorded))])
    replayed = http.post(base_url + CHAT, content=content, headers=headers)
    assert (replayed.status_code, replayed.content) == (400, recorded.body)
    refused = http.post(base_url + CHAT, content=other, headers=headers)
    assert refused.status_code in (400, 415)
    assert refused.json()["message"] != REFUSED_BY_VLLM["error"]["message"]


def test_a_recorded_refusal_needs_the_same_content_type(serve: Any, http: httpx.Client, build: Any) -> None:
    content = b'{"model": "m", "messages": [{"role": "user", "content": "Hi"}]}'
    request = RecordedRequest("POST", CHAT, {"content-type": "text/plain"}, body=json.loads(content))
    recorded = build.json_response(REFUSED_BY_VLLM, status=400)
    base_url = serve([build.cassette("errors/recorded_refusal", (request, recorded))])
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert http.post(base_url + CHAT, content=content, headers=form).status_code == 415
