"""The recording proxy over real sockets: streams pass through as they arrive, timed and recorded."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from plugin_upstream import EVENTS, upstream_app

from nim_mock.record.proxy import Recording, create_recording_app
from nim_mock.serve.runner import RunningServer

GAP_S = 0.25
KEY = "nvapi-" + "k3y" * 6
BODY = {"model": "up/model", "messages": [{"role": "user", "content": "hi"}], "stream": True}


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = RunningServer(upstream_app(GAP_S))
    yield server.start()
    server.stop()


@pytest.fixture
def proxied(upstream: str) -> Iterator[tuple[str, Recording]]:
    recording = Recording()
    server = RunningServer(create_recording_app(upstream, recording))
    yield server.start(), recording
    server.stop()


def read_events(client: httpx.Client, url: str, body: dict) -> list[tuple[float, bytes]]:
    arrivals = []
    with client.stream("POST", url, json=body, headers={"authorization": f"Bearer {KEY}"}) as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            arrivals.append((time.monotonic(), chunk))
    return arrivals


def test_the_client_sees_the_first_event_long_before_the_last(proxied: tuple[str, Recording]) -> None:
    url, recording = proxied
    with httpx.Client() as client:
        start = time.monotonic()
        arrivals = read_events(client, url + "/v1/chat/completions", BODY)
    first = next(t for t, data in arrivals if b"heard" in data)
    last = next(t for t, data in arrivals if b"[DONE]" in data)
    # Not buffered: the first event is in the client's hands while the upstream is still generating.
    assert first - start < (EVENTS - 1) * GAP_S / 2
    assert last - first > (EVENTS - 1) * GAP_S / 2
    assert recording.wait_idle(5)
    assert recording.failures == []
    [interaction] = recording.interactions
    assert interaction.request.path == "/v1/chat/completions"
    assert interaction.request.body == BODY
    response = interaction.response
    assert response.status == 200
    assert response.header("content-type") == "text/event-stream; charset=utf-8"
    assert response.events is not None
    assert [e.raw.startswith(b"data: ") for e in response.events] == [True] * (EVENTS + 1)
    assert response.events[-1].raw == b"data: [DONE]\n\n"
    offsets = [e.t_ms for e in response.events]
    assert offsets == sorted(offsets)
    assert offsets[-1] - offsets[0] > (EVENTS - 1) * GAP_S * 1000 / 2
    assert 0 <= response.t_headers_ms <= offsets[0]


def test_a_plain_json_answer_is_recorded_whole(proxied: tuple[str, Recording]) -> None:
    url, recording = proxied
    with httpx.Client() as client:
        answer = client.post(url + "/v1/chat/completions?x=1", json={**BODY, "stream": False})
    assert answer.json()["object"] == "chat.completion"
    assert answer.headers["set-cookie"] == "session=abc123secret"
    assert recording.wait_idle(5)
    [interaction] = recording.interactions
    assert interaction.request.path == "/v1/chat/completions?x=1"
    assert interaction.response.events is None
    assert interaction.response.body == answer.content


def test_an_upstream_that_dies_mid_stream_records_nothing(proxied: tuple[str, Recording]) -> None:
    url, recording = proxied
    with httpx.Client() as client, pytest.raises(httpx.RemoteProtocolError):
        read_events(client, url + "/v1/chat/completions", {**BODY, "die": True})
    assert recording.wait_idle(5)
    assert recording.interactions == []
    [failure] = recording.failures
    assert "upstream dropped the response mid-way" in failure
    assert failure.startswith("POST http://127.0.0.1:")


def test_an_unreachable_upstream_answers_502_and_is_reported() -> None:
    recording = Recording()
    server = RunningServer(create_recording_app("http://127.0.0.1:9", recording))
    url = server.start()
    try:
        with httpx.Client() as client:
            answer = client.get(url + "/v1/models")
    finally:
        server.stop()
    assert answer.status_code == 502
    assert "upstream unreachable" in answer.json()["error"]["message"]
    assert recording.interactions == []
    assert len(recording.failures) == 1
