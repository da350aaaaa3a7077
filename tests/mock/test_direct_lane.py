"""The app's direct lane (built-in routes, no fault to inject) answers exactly as its Starlette stack.

A loaded fault rule that matches nothing sends every request through the Starlette stack (the
fault middleware has to look at it), so the same requests against two apps, one with that rule and
one without, compare the two lanes: same status, headers and bytes, same request-log entries.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from starlette.routing import Match, Route

from nim_mock import create_app, serve_in_thread
from nim_mock.faults.kinds import FaultRules, Rule, ServerError
from nim_mock.faults.kinds import Match as Requests
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


def _answers(faults: FaultRules | None, build: Any) -> tuple[list[Any], list[RequestEntry]]:
    entries: list[RequestEntry] = []
    app = create_app([build.plain_chat()], faults=faults, max_body_bytes=1024, request_log=entries.append)
    answers = []
    with serve_in_thread(app) as base_url, httpx.Client(base_url=base_url, timeout=10.0) as client:
        for method, path, headers, content in _requests(build):
            response = client.request(method, path, headers=headers, content=content)
            kept = [(name, value) for name, value in response.headers.multi_items() if name != "date"]
            answers.append((method, path, response.status_code, kept, response.content))
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
