"""The recording proxy keeps the upstream's framing: a ``content-length`` body arrives with that
length (not chunked), a stream stays chunked, and the client gets exactly one ``date``.

Upstream and proxy are real uvicorn servers on loopback; headers are read as the raw pairs the
client received, so a second ``date`` or a changed framing header cannot hide."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nim_mock import create_app, serve_in_thread
from nim_mock.record.proxy import Recording, create_recording_app

ANSWER = b'{"ok":true}'


def _gzipped(request: Request) -> Response:
    return Response(
        gzip.compress(ANSWER), headers={"content-encoding": "gzip"}, media_type="application/json"
    )


@pytest.fixture
def servers(build: Any) -> Iterator[tuple[str, str, str, Recording]]:
    """(mock upstream, gzip upstream, proxy in front of the mock, the proxy's recording)."""
    body = build.chat_body("stream", stream=True)
    streamed = build.cassette(
        "s", (build.post(body), build.stream_response(build.sse([(0.0, "a"), (1.0, "b")])))
    )
    recording = Recording()
    gzip_app = Starlette(routes=[Route("/v1/gz", _gzipped)])
    with (
        serve_in_thread(create_app([build.plain_chat(), streamed])) as upstream,
        serve_in_thread(gzip_app) as gzip_upstream,
        serve_in_thread(create_recording_app(upstream, recording)) as proxy,
    ):
        yield upstream, gzip_upstream, proxy, recording


def _names(response: httpx.Response) -> list[str]:
    return [name.decode("latin-1").lower() for name, _ in response.headers.raw]


def test_a_body_keeps_its_content_length_and_one_date(
    servers: tuple[str, str, str, Recording], http: httpx.Client, build: Any
) -> None:
    upstream, _, proxy, recording = servers
    direct = http.post(upstream + "/v1/chat/completions", json=build.chat_body("Hi"))
    proxied = http.post(proxy + "/v1/chat/completions", json=build.chat_body("Hi"))
    assert proxied.content == direct.content
    assert _names(proxied) == _names(direct) == ["date", "server", "content-length", "content-type"]
    assert proxied.headers["content-length"] == str(len(direct.content))
    assert recording.wait_idle(5.0)
    assert recording.interactions[0].response.headers == (
        ("server", "uvicorn"),
        ("content-type", "application/json"),
    )


def test_a_stream_stays_chunked_with_one_date(
    servers: tuple[str, str, str, Recording], http: httpx.Client, build: Any
) -> None:
    upstream, _, proxy, _ = servers
    body = build.chat_body("stream", stream=True)
    direct = http.post(upstream + "/v1/chat/completions", json=body)
    proxied = http.post(proxy + "/v1/chat/completions", json=body)
    assert proxied.content == direct.content
    assert _names(proxied).count("date") == 1
    assert proxied.headers["transfer-encoding"] == direct.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in proxied.headers


def test_a_body_the_proxy_decoded_goes_out_chunked_at_its_decoded_size(
    servers: tuple[str, str, str, Recording],
) -> None:
    _, gzip_upstream, _, _ = servers
    recording = Recording()
    with serve_in_thread(create_recording_app(gzip_upstream, recording)) as proxy, httpx.Client() as raw:
        proxied = raw.get(proxy + "/v1/gz", headers={"accept-encoding": "identity"})
    assert proxied.content == ANSWER
    assert "content-encoding" not in proxied.headers
    assert proxied.headers["transfer-encoding"] == "chunked"
    assert _names(proxied).count("date") == 1
