"""No input breaks the mock: over a real socket, every hostile request gets a 4xx (or an honest 2xx),
never a 5xx, never a hang, and the server answers its health check afterwards.

Each named case of issue 12 is pinned down with the status and what the message must say; a
hypothesis battery then throws generated nasty requests (deep nesting, lone surrogates as JSON
escapes, NUL bytes, huge numbers, wrong types everywhere, malformed and oversized schemas, bad
content types and fault headers, odd paths and methods) at a stand-in and at a replay-only server.
A synthesized 200 for a schema is checked against that schema with the ``jsonschema`` package.
Timing is only asserted as "answered within a generous bound"; bench/bench_hostile.py measures it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from hostile import CHAT, MODEL, WORST, Hostile, hostile_requests, render
from hypothesis import HealthCheck, given, settings

from nim_mock import RunningServer, create_app
from nim_mock.cassette import RecordedResponse
from nim_mock.serve.replay import MonotonicClock
from nim_mock.synth.budget import MAX_ANSWER_TOKENS, MAX_CONTENT_CHARS, MAX_SCHEMA_STEPS

GENEROUS_S = 30.0
"""A per-request timeout no bounded request comes near, even on a loaded 2-core machine."""
JSON_CT = {"content-type": "application/json"}


@pytest.fixture(scope="module", params=["synthesize", "error"])
def server(request: pytest.FixtureRequest, build: Any) -> Iterator[str]:
    """A stand-in (NIM layout) and a replay-only server (vLLM layout), each for the whole module."""
    on_miss = request.param
    layout = "nim" if on_miss == "synthesize" else "vllm"
    app = create_app([build.plain_chat()], on_miss=on_miss, error_layout=layout)
    running = RunningServer(app)
    running.start()
    yield running.base_url
    running.stop()


@pytest.fixture(scope="module")
def stand_in(build: Any) -> Iterator[str]:
    running = RunningServer(create_app([build.plain_chat()], on_miss="synthesize"))
    running.start()
    yield running.base_url
    running.stop()


def _message(response: httpx.Response) -> str:
    body = response.json()
    if "error" in body:
        return str(body["error"]["message"])
    return str(body.get("message", body.get("detail")))  # nim2 answers a wrong route as FastAPI does


def _post(base_url: str, body: Any, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else render(body)
    with httpx.Client(timeout=GENEROUS_S) as client:
        return client.post(base_url + CHAT, content=content, headers={**JSON_CT, **headers})


def _chat(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "Fill it in."}], **extra}


def _schema(schema: Any, **extra: Any) -> dict[str, Any]:
    return _chat(guided_json=schema, **extra)


NAMED: dict[str, tuple[bytes | dict[str, Any], str]] = {
    "JSON nested 600 levels": (b'{"model":"m","x":' + b"[" * 600 + b"]" * 600 + b"}", "601 levels deep"),
    "JSON nested past what json reads": (b'{"x":' + b"[" * 5000 + b"]" * 5000 + b"}", "too deeply to read"),
    "a lone surrogate in a message": (
        _chat(messages=[{"role": "user", "content": "\ud800"}]),
        "lone surrogate",
    ),
    "a lone surrogate in a key": ({**_chat(), "\udc00": 1}, "lone surrogate at \\udc00"),
    "a lone surrogate in the model": (_chat(model="m\udfff"), "lone surrogate at model"),
    "a lone surrogate in a JSON-string schema": (_chat(guided_json='{"const": "\\ud800"}'), "lone surrogate"),
    "a raw NUL byte": (
        b'{"model": "m", "messages": [{"role": "user", "content": "a\x00b"}]}',
        "control character",
    ),
    "a 5,000-digit number": (b'{"model": "m", "n": ' + b"7" * 5000 + b"}", "a number the mock cannot read"),
    "required: 1": (_schema({"type": "object", "required": 1}), "'required' must be an array"),
    "properties: [1]": (_schema({"properties": [1]}), "'properties' must be an object of schemas"),
    "multipleOf 1e-300 from 1e300": (
        _schema({"type": "number", "multipleOf": 1e-300, "minimum": 1e300}),
        "no number a double can hold",
    ),
    "prefixItems: 5": (
        _schema({"type": "array", "prefixItems": 5}),
        "'prefixItems' must be a non-empty array",
    ),
    "a malformed response_format schema": (
        _chat(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"enum": 3}}}),
        "'enum' must be an array",
    ),
    "a malformed tool schema": (
        _chat(
            tools=[{"type": "function", "function": {"name": "f", "parameters": {"minLength": "2"}}}],
            tool_choice="required",
        ),
        "cannot make arguments for tool 'f': it is not a valid JSON schema",
    ),
    "minLength 5 and maxLength 2": (_schema({"type": "string", "minLength": 5, "maxLength": 2}), "more than"),
    "not: {}": (_schema({"not": {}}), "valid under the schema in 'not'"),
    "const against type": (_schema({"type": "string", "const": 5}), "5 is not of type string"),
    "minLength 1e9": (WORST["minLength 1e9"], f"the {MAX_CONTENT_CHARS} characters the mock generates"),
    "minItems 1e9": (WORST["minItems 1e9"], f"the {MAX_CONTENT_CHARS} characters"),
    "minProperties 1e9": (WORST["minProperties 1e9"], f"the {MAX_CONTENT_CHARS} characters"),
    "pattern a{1e9}": (WORST["pattern a{1e9}"], f"the {MAX_CONTENT_CHARS} characters"),
    "refs fanning out": (WORST["refs fanning out to the step limit"], f"more than {MAX_SCHEMA_STEPS} steps"),
    "items past the token limit": (
        WORST["120,000 items, past the token limit"],
        f"the {MAX_ANSWER_TOKENS} the mock",
    ),
}


@pytest.mark.parametrize("name", list(NAMED))
def test_each_named_case_gets_a_400_saying_what_was_wrong(name: str, stand_in: str) -> None:
    body, needle = NAMED[name]
    response = _post(stand_in, body)
    assert response.status_code == 400, response.text
    assert needle in _message(response)


def test_max_tokens_bounds_what_an_oversized_schema_makes(stand_in: str) -> None:
    response = _post(stand_in, WORST["minLength 1e9, max_tokens 16"])
    assert response.status_code == 200
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert response.json()["usage"]["completion_tokens"] == 16
    assert len(response.content) < 4096


@pytest.mark.parametrize(
    "name", ["a 262,000-character string, streamed", "a 262,000-character pattern", "6,000 properties"]
)
def test_the_largest_answers_within_the_limits_are_given(name: str, stand_in: str) -> None:
    response = _post(stand_in, WORST[name])
    assert response.status_code == 200
    assert response.headers["x-nim-mock-synthesized"] == "1"


def test_odd_but_valid_input_is_answered(stand_in: str) -> None:
    escaped_nul = _post(stand_in, _chat(messages=[{"role": "user", "content": "a\x00b"}]))
    assert escaped_nul.status_code == 200  # "\u0000" is valid JSON text, and a real server reads it
    tool_calls = _post(stand_in, _chat(messages=[{"role": "assistant", "content": "x", "tool_calls": 5}]))
    assert tool_calls.status_code == 200
    paired = _post(stand_in, _chat(messages=[{"role": "user", "content": "\ud83d\ude00"}]))
    assert paired.status_code == 200


def test_nul_in_the_path_or_a_header_gets_a_4xx(stand_in: str) -> None:
    host, port = stand_in.removeprefix("http://").split(":")
    with httpx.Client(timeout=GENEROUS_S) as client:
        path = client.post(stand_in + "/v1/chat%00completions", content=render(_chat()), headers=JSON_CT)
    assert path.status_code == 404
    assert "/v1/chat\\u0000completions" in path.text
    for request in (
        b"GET /v1/health/ready HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
        b"GET /v1/health/ready\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    ):
        with socket.create_connection((host, int(port)), timeout=GENEROUS_S) as raw:
            raw.sendall(request)
            assert raw.recv(64).startswith(b"HTTP/1.1 400 ")  # uvicorn refuses it before the app


class _BrokenOnce(MonotonicClock):
    """A clock whose first wait fails, a bug inside the app the mock must answer with a 500; later
    waits return at once."""

    def __init__(self) -> None:
        self.failed = False

    async def sleep(self, seconds: float) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("the clock broke (on purpose)")


def test_a_500_closes_its_connection_so_the_next_request_is_answered(build: Any) -> None:
    cassette = build.plain_chat()
    slow = cassette.interactions[0].response
    # A minute's wait at speed 1 is always still ahead when replay starts, so the clock is asked.
    delayed = RecordedResponse(slow.status, slow.headers, slow.body, t_headers_ms=60_000.0)
    paced = build.cassette("paced", (cassette.interactions[0].request, delayed))
    running = RunningServer(create_app([paced], speed=1.0, clock=_BrokenOnce()), log_level="critical")
    running.start()
    try:
        with httpx.Client(timeout=GENEROUS_S) as client:
            broken = client.post(running.base_url + CHAT, json=build.chat_body("Hi"))
            assert broken.status_code == 500
            assert broken.headers["connection"] == "close"
            assert "RuntimeError: the clock broke" in broken.json()["message"]
            again = client.post(
                running.base_url + CHAT, json=build.chat_body("Hi")
            )  # same client, new socket
            assert again.status_code == 200
    finally:
        running.stop()


def _send(base_url: str, hostile: Hostile) -> httpx.Response:
    with httpx.Client(timeout=GENEROUS_S) as client:
        return client.request(
            hostile.method, base_url + hostile.path, content=hostile.content, headers=hostile.headers
        )


def _schema_of(content: bytes) -> Any:
    """The guided_json schema a body asked for, when it is a JSON object with one; else ``None``."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return None
    return (
        body.get("guided_json")
        if isinstance(body, dict) and isinstance(body.get("guided_json"), dict)
        else None
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(hostile=hostile_requests())
def test_no_hostile_request_gets_a_5xx_or_hangs(hostile: Hostile, server: str) -> None:
    response = _send(server, hostile)
    assert response.status_code < 500, (hostile, response.text[:300])
    if response.status_code >= 400:
        assert _message(response)  # an error that says something, in the server's layout
    schema = _schema_of(hostile.content)
    if (
        response.status_code == 200
        and schema is not None
        and hostile.path == CHAT
        and "stream" not in str(hostile)
    ):
        choice = response.json()["choices"][0]
        if choice["finish_reason"] == "stop" and choice["message"]["content"]:
            try:
                jsonschema.Draft202012Validator.check_schema(schema)
            except jsonschema.SchemaError:
                return  # a draft-4 form the mock reads but the 2020-12 meta-schema does not
            jsonschema.Draft202012Validator(schema).validate(json.loads(choice["message"]["content"]))


def test_the_server_answers_after_the_battery(server: str) -> None:
    with httpx.Client(timeout=GENEROUS_S) as client:
        assert client.get(server + "/v1/health/ready").status_code == 200


def test_health_answers_while_the_worst_requests_run(build: Any) -> None:
    running = RunningServer(create_app([build.plain_chat()], on_miss="synthesize"))
    running.start()
    statuses: dict[str, int] = {}

    def worst(name: str) -> None:
        statuses[name] = _post(running.base_url, WORST[name]).status_code

    workers = [threading.Thread(target=worst, args=(name,)) for name in WORST]
    latencies: list[float] = []
    try:
        with httpx.Client(timeout=GENEROUS_S) as client:
            for worker in workers:
                worker.start()
            while any(worker.is_alive() for worker in workers):
                started = time.perf_counter()
                assert client.get(running.base_url + "/v1/health/ready").status_code == 200
                latencies.append(time.perf_counter() - started)
                time.sleep(0.01)
        for worker in workers:
            worker.join(GENEROUS_S)
    finally:
        running.stop()
    assert latencies, "the worst requests finished before one health check could be sent"
    assert all(status < 500 for status in statuses.values()), statuses
    assert len(statuses) == len(WORST)
