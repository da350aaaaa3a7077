"""The app's direct lane (built-in routes, no fault to inject) answers exactly as its Starlette stack.

A loaded fault rule that matches nothing sends every request through the Starlette stack (the
fault middleware has to look at it), so the same requests against two apps, one with that rule and
one without, compare the two lanes: same status, headers and bytes, same request-log entries.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from nim_mock import create_app, serve_in_thread
from nim_mock.cassette import RecordedResponse
from nim_mock.faults.kinds import FaultRules, Rule, ServerError
from nim_mock.faults.kinds import Match as Requests
from nim_mock.serve.replay import MonotonicClock
from nim_mock.serve.request_log import RequestEntry

NEVER_FIRES = FaultRules((Rule("never", (ServerError(503),), Requests(path="/v1/nowhere")),))
JSON = {"content-type": "application/json"}


def _requests(build: Any) -> list[tuple[str, str, dict[str, str], bytes]]:
    hit, miss = (json.dumps(build.chat_body(content)).encode() for content in ("Hi", "Bye"))
    return [
        ("POST", "/v1/chat/completions", JSON, hit),
        ("POST", "/v1/chat/completions", JSON, miss),
        ("POST", "/v1/chat/completions", JSON, b'{"model": '),
        ("POST", "/v1/chat/completions", {"content-type": "text/plain"}, b"hello"),
        ("POST", "/v1/chat/completions", JSON, b"x" * 2048),
        ("POST", "/v1/completions", JSON, b'{"model": "m", "prompt": "Hi"}'),
        ("POST", "/v1/embeddings", JSON, b'{"model": "m", "input": ["a"]}'),
        ("GET", "/v1/models", {}, b""),
        ("HEAD", "/v1/models", {}, b""),
        ("GET", "/v1/health/ready", {}, b""),
        ("GET", "/v1/chat/completions", {}, b""),
        ("GET", "/v1/unknown", {}, b""),
    ]


def _undated(body: bytes) -> bytes:
    """The body without what the model listing derives from the app's creation time (two apps may
    be built on either side of a second)."""
    body = re.sub(rb'"created":\d+', b'"created":0', body)
    return re.sub(rb"modelperm-[0-9a-f]+", b"modelperm-", body)


def _answers(faults: FaultRules | None, build: Any) -> tuple[list[Any], list[RequestEntry]]:
    entries: list[RequestEntry] = []
    app = create_app([build.plain_chat()], faults=faults, max_body_bytes=1024, request_log=entries.append)
    answers = []
    with serve_in_thread(app) as base_url, httpx.Client(base_url=base_url, timeout=10.0) as client:
        for method, path, headers, content in _requests(build):
            response = client.request(method, path, headers=headers, content=content)
            kept = [(name, value) for name, value in response.headers.multi_items() if name != "date"]
            answers.append((method, path, response.status_code, kept, _undated(response.content)))
        assert build.wait_for(lambda: len(entries) == len(answers))
    assert app.state.faults.applied == []
    return answers, entries


def test_the_direct_lane_answers_as_the_starlette_stack_does(build: Any) -> None:
    direct, direct_log = _answers(None, build)
    stacked, stacked_log = _answers(NEVER_FIRES, build)
    assert direct == stacked
    assert direct_log == stacked_log
    statuses = [status for _, _, status, _, _ in direct]
    assert statuses[:5] == [200, 404, 400, 415, 413]  # a hit, a miss and three refusals all took a lane


def test_no_templated_route_claims_a_path_the_direct_lane_answers() -> None:
    # The direct lane looks paths up before Starlette's router would try the templated routes,
    # so a templated route matching one of those paths would answer differently in the two lanes.
    for identity in ("nim1", "nim2", "hosted"):
        app = create_app([], identity=identity)
        templated = [
            route for route in app.routes if isinstance(route, Route) and route.path != "/{path:path}"
        ]
        assert templated, identity
        for method, path in app._direct:
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            assert all(route.matches(scope)[0] is Match.NONE for route in templated), (identity, path)


def test_middleware_a_caller_adds_sees_the_requests_the_direct_lane_would_take(build: Any) -> None:
    seen: list[str] = []

    class Witness:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                seen.append(f"{scope['method']} {scope['path']}")
            await self.app(scope, receive, send)

    cassette = build.plain_chat()
    app = create_app([cassette])
    app.add_middleware(Witness)
    with serve_in_thread(app) as base_url:
        answer = httpx.post(base_url + "/v1/chat/completions", json=cassette.interactions[0].request.body)
        health = httpx.get(base_url + "/v1/health/ready")
    assert (answer.status_code, health.status_code) == (200, 200)
    assert seen == ["POST /v1/chat/completions", "GET /v1/health/ready"]


class _BrokenClock(MonotonicClock):
    """A clock whose waits fail: a bug inside the app, in the middle of answering."""

    async def sleep(self, seconds: float) -> None:
        raise RuntimeError("the clock broke (on purpose)")


def test_a_failure_in_the_direct_lane_is_answered_by_the_apps_current_error_handler(build: Any) -> None:
    plain = build.plain_chat()
    recorded = plain.interactions[0]
    response = recorded.response  # its headers a minute late at speed 1, so replay asks the clock
    late = RecordedResponse(response.status, response.headers, response.body, t_headers_ms=60_000.0)
    app = create_app([build.cassette("late", (recorded.request, late))], speed=1.0, clock=_BrokenClock())

    def plain_text(request: Request, error: Exception) -> Response:  # a plain function, as Starlette allows
        return PlainTextResponse(f"custom: {error}", status_code=500)

    with serve_in_thread(app, log_level="critical") as base_url:
        default = httpx.post(base_url + "/v1/chat/completions", json=recorded.request.body)
        app.add_exception_handler(Exception, plain_text)
        custom = httpx.post(base_url + "/v1/chat/completions", json=recorded.request.body)
    assert default.status_code == 500
    assert "RuntimeError: the clock broke" in default.json()["message"]
    assert (custom.status_code, custom.text) == (500, "custom: the clock broke (on purpose)")


async def test_a_fault_header_named_in_any_case_keeps_the_request_off_the_direct_lane(build: Any) -> None:
    """ASGI servers pass header names in lower case, but a raw ASGI caller may not; the fault
    middleware reads the name in any case, so the lane must see it the same way."""
    app = create_app([build.plain_chat()], request_log=lambda entry: None)
    body = json.dumps(build.chat_body("Hi")).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"X-Nim-Mock-Fault", b"503")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    received = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return received.pop(0) if received else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 503
    assert [(applied.path, len(applied.labels)) for applied in app.state.faults.applied] == [
        ("/v1/chat/completions", 1)
    ]
