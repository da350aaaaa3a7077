"""``create_app(stream_in_one_write=True)``: at speed 0 a stream leaves in one write, the same bytes.

Read on the raw socket, where the chunked framing shows how many writes the server made.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from nim_mock import create_app, serve_in_thread

CHAT = "/v1/chat/completions"
TEXTS = ("The", " sky", " is", " blue", ".")


def _exchange(url: str, body: dict[str, Any], *headers: bytes) -> bytes:
    """One request on a raw socket; every byte the server sent back until it closed."""
    host, port = url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode()
    head = [
        b"POST " + CHAT.encode() + b" HTTP/1.1",
        b"host: x",
        b"connection: close",
        b"content-type: application/json",
        b"content-length: " + str(len(payload)).encode(),
        *headers,
    ]
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + payload)
        received = b""
        while piece := sock.recv(65536):
            received += piece
    return received


def _chunks(response: bytes) -> list[bytes]:
    """The data chunks of a chunked HTTP/1.1 response, in order (the final empty chunk left out)."""
    head, _, rest = response.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    chunks = []
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return chunks
        chunks.append(rest[:size])
        rest = rest[size + 2 :]
    raise AssertionError("the response ended before its final chunk")


@pytest.fixture
def streamed(build: Any) -> Any:
    events = build.sse([(float(i), text) for i, text in enumerate(TEXTS)])
    request = build.post(build.chat_body(stream=True))
    return build.cassette("chat/streamed", (request, build.stream_response(events)))


def test_at_speed_0_the_stream_is_one_chunk_with_every_event(streamed: Any) -> None:
    events = streamed.interactions[0].response.events
    body = streamed.interactions[0].request.body
    with serve_in_thread(create_app([streamed], stream_in_one_write=True)) as url:
        chunks = _chunks(_exchange(url, body))
    assert chunks == [b"".join(event.raw for event in events)]


def test_by_default_each_event_is_its_own_chunk(streamed: Any) -> None:
    events = streamed.interactions[0].response.events
    with serve_in_thread(create_app([streamed])) as url:
        chunks = _chunks(_exchange(url, streamed.interactions[0].request.body))
    assert chunks == [event.raw for event in events]


def test_with_timing_to_keep_each_event_still_leaves_on_its_own(streamed: Any) -> None:
    events = streamed.interactions[0].response.events
    app = create_app([streamed], speed=0.01, stream_in_one_write=True)
    with serve_in_thread(app) as url:
        chunks = _chunks(_exchange(url, streamed.interactions[0].request.body))
    assert chunks == [event.raw for event in events]


def test_stream_faults_still_count_the_events_inside_the_one_write(streamed: Any) -> None:
    events = streamed.interactions[0].response.events
    with serve_in_thread(create_app([streamed], stream_in_one_write=True)) as url:
        received = _exchange(url, streamed.interactions[0].request.body, b"x-nim-mock-fault: cut;after=2")
    assert events[1].raw in received
    assert events[2].raw not in received
    assert not received.endswith(b"0\r\n\r\n")


def test_the_request_log_counts_every_event_as_sent(streamed: Any, build: Any) -> None:
    entries: list[Any] = []
    app = create_app([streamed], stream_in_one_write=True, request_log=entries.append)
    with serve_in_thread(app) as url:
        _exchange(url, streamed.interactions[0].request.body)
        assert build.wait_for(lambda: bool(entries))
    total = len(streamed.interactions[0].response.events)
    assert (entries[0].sent, entries[0].total, entries[0].disconnected) == (total, total, False)
