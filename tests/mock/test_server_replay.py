"""Every bundled interaction, replayed over a real socket, comes back exactly as recorded.

Parametrised over ``load_cassettes([bundled_cassettes_dir()])``, so a new cassette is covered the day
it lands (and its SSE bytes need a reviewed ``--snapshot-update``).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette

from nim_mock import (
    Cassette,
    RecordedResponse,
    RunningServer,
    bundled_cassettes_dir,
    create_app,
    load_cassettes,
)

BUNDLED = load_cassettes([bundled_cassettes_dir()])
COMPUTED = {b"date", b"content-length", b"transfer-encoding", b"connection"}


class _Pool:
    """One server per bundled cassette for the whole module, replay order reset per test.

    uvicorn needs ~0.2 s to stop (it polls its exit flag every 0.1 s); stopping 40 servers at once
    at the end costs that once instead of 40 times.
    """

    def __init__(self) -> None:
        self._servers: dict[str, tuple[Starlette, RunningServer]] = {}

    def url_for(self, cassette: Cassette) -> str:
        if cassette.name not in self._servers:
            app = create_app([cassette])
            server = RunningServer(app)
            server.start()
            self._servers[cassette.name] = (app, server)
        app, server = self._servers[cassette.name]
        app.state.matcher.reset()
        return server.base_url

    def close(self) -> None:
        for _, server in self._servers.values():
            server.request_stop()
        for _, server in self._servers.values():
            server.stop()


@pytest.fixture(scope="module")
def pool() -> Iterator[_Pool]:
    servers = _Pool()
    yield servers
    servers.close()


def _replayed(client: httpx.Client, request: httpx.Request) -> tuple[httpx.Response, bytes]:
    response = client.send(request, stream=True)
    try:
        body = b"".join(response.iter_raw())
    finally:
        response.close()
    return response, body


def _expected_headers(recorded: RecordedResponse) -> list[tuple[bytes, bytes]]:
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in recorded.headers
        if name.lower().encode("latin-1") not in COMPUTED
    ]


def _check_exact(response: httpx.Response, body: bytes, recorded: RecordedResponse) -> None:
    assert response.status_code == recorded.status
    raw = response.headers.raw
    assert [(k.lower(), v) for k, v in raw if k.lower() not in COMPUTED] == _expected_headers(recorded)
    if recorded.events is None:
        assert body == recorded.body
        assert response.headers["content-length"] == str(len(recorded.body))
    else:
        assert body == b"".join(event.raw for event in recorded.events)
        assert "content-length" not in response.headers
        assert response.headers.get("transfer-encoding") == "chunked"


@pytest.mark.parametrize("cassette", BUNDLED, ids=[c.name for c in BUNDLED])
def test_bundled_cassette_replays_byte_for_byte(cassette: Cassette, pool, http, build, snapshot) -> None:
    base_url = pool.url_for(cassette)
    for index, interaction in enumerate(cassette.interactions):
        response, body = _replayed(http, build.recorded_request(http, base_url, interaction.request))
        _check_exact(response, body, interaction.response)
        if interaction.response.streamed:
            assert body.decode("utf-8") == snapshot(name=f"{cassette.name}#{index + 1}")


def test_all_bundled_cassettes_share_one_server(serve, http, build) -> None:
    """With everything loaded at once, each recorded request still reaches its own interaction."""
    base_url = serve(BUNDLED)
    for cassette in BUNDLED:
        for interaction in cassette.interactions:
            response, body = _replayed(http, build.recorded_request(http, base_url, interaction.request))
            if interaction.request.path == "/v1/models":
                # The listing grows by the models other cassettes use (see the listing tests).
                assert response.status_code == interaction.response.status
                continue
            _check_exact(response, body, interaction.response)


def test_identical_requests_replay_in_recorded_order(serve, http, build) -> None:
    request = build.post(build.chat_body("again"))
    first = build.json_response({"n": 1}, status=429)
    second = build.json_response({"n": 2})
    base_url = serve([build.cassette("retry", (request, first), (request, second))])
    statuses = [http.post(base_url + "/v1/chat/completions", json=request.body) for _ in range(3)]
    assert [(r.status_code, r.json()) for r in statuses] == [
        (429, {"n": 1}),
        (200, {"n": 2}),
        (429, {"n": 1}),
    ]


def test_recorded_server_header_is_replayed_and_none_invented(serve, http, build) -> None:
    with_server = build.plain_chat("with", content="a")
    without = build.cassette(
        "without", (build.post(build.chat_body("b")), RecordedResponse(200, (("x-custom", "1"),), b"ok"))
    )
    base_url = serve([with_server, without])
    first = http.post(base_url + "/v1/chat/completions", json=build.chat_body("a"))
    second = http.post(base_url + "/v1/chat/completions", json=build.chat_body("b"))
    assert first.headers.get_list("server") == ["uvicorn"]
    assert "server" not in second.headers
    assert [k for k, _ in second.headers.raw] == [b"date", b"x-custom", b"content-length"]


def test_gateway_202_polling_flow_replays_the_status_route(serve, http, build) -> None:
    request = build.post(build.chat_body("slow"))
    status_path = "/v2/nvcf/pexec/status/abc"
    poll = build.json_response(
        {}, status=202, headers=[("nvcf-reqid", "abc"), ("nvcf-status", "pending-evaluation")]
    )
    base_url = serve(
        [
            build.cassette(
                "polling",
                (request, poll),
                (build.recorded_get(status_path), poll),
                (build.recorded_get(status_path), build.json_response({"done": True})),
            )
        ]
    )
    accepted = http.post(base_url + "/v1/chat/completions", json=request.body)
    assert accepted.status_code == 202
    assert accepted.headers["nvcf-reqid"] == "abc"
    polls = [http.get(base_url + status_path) for _ in range(2)]
    assert [p.status_code for p in polls] == [202, 200]
    assert polls[1].json() == {"done": True}
    wrong_method = http.delete(base_url + status_path)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET"


def test_each_request_logs_one_line_naming_its_answer(serve, http, build, caplog) -> None:
    caplog.set_level("INFO", logger="nim_mock")
    base_url = serve([build.plain_chat()])
    http.post(base_url + "/v1/chat/completions", json=build.chat_body("Hi"))
    http.post(base_url + "/v1/chat/completions", json=build.chat_body("nope"))
    http.get(base_url + "/v1/nothing")
    assert build.wait_for(lambda: len([r for r in caplog.records if r.name == "nim_mock"]) >= 3)
    lines = [r.getMessage() for r in caplog.records if r.name == "nim_mock"]
    assert lines[0] == "POST /v1/chat/completions 200 chat/plain#1"
    assert lines[1].startswith("POST /v1/chat/completions 404 miss: no recorded interaction matches")
    assert "chat/plain" in lines[1]
    assert lines[2].startswith("GET /v1/nothing 404 refused: Route GET /v1/nothing does not exist")
    assert len(lines) == 3
