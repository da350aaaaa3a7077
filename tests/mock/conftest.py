"""Fixtures for the mock server's tests: real uvicorn servers on ephemeral loopback ports.

Streams are only ever read over a real socket (``serve``), never through TestClient or
ASGITransport, which buffer the body. ``build`` makes small cassettes in code, so a test states the
exact bytes and timings it relies on next to its assertions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from nim_mock import (
    Cassette,
    Event,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    create_app,
    serve_in_thread,
)
from nim_mock.cassette import compact_json

MODEL = "meta/llama-3.1-8b-instruct"


class Builders:
    """Small constructors for in-code cassettes (bundled ones come from ``load_cassettes``)."""

    @staticmethod
    def chat_body(content: str = "Hi", *, stream: bool = False, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": content}]}
        if stream:
            body["stream"] = True
        body.update(extra)
        return body

    @staticmethod
    def chunk(text: str, *, finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "object": "chat.completion.chunk",
            "created": 1735689600,
            "model": MODEL,
            "choices": [{"index": 0, "delta": {"content": text}, "logprobs": None, "finish_reason": finish}],
        }

    @classmethod
    def sse(cls, texts_at: Sequence[tuple[float, str]], *, done_at: float | None = None) -> tuple[Event, ...]:
        """``data:`` events for ``(t_ms, text)`` pairs, then ``[DONE]`` (at ``done_at`` or the last time)."""
        events = [Event(t, b"data: " + compact_json(cls.chunk(text)) + b"\n\n") for t, text in texts_at]
        last = done_at if done_at is not None else (texts_at[-1][0] if texts_at else 0.0)
        events.append(Event(last, b"data: [DONE]\n\n"))
        return tuple(events)

    @staticmethod
    def stream_response(events: tuple[Event, ...]) -> RecordedResponse:
        return RecordedResponse(
            200,
            (("content-type", "text/event-stream; charset=utf-8"), ("server", "uvicorn")),
            events=events,
        )

    @staticmethod
    def json_response(
        body: Any, status: int = 200, headers: Sequence[tuple[str, str]] = ()
    ) -> RecordedResponse:
        return RecordedResponse(
            status,
            (("server", "uvicorn"), ("content-type", "application/json"), *headers),
            body=compact_json(body),
        )

    @staticmethod
    def cassette(
        name: str, *pairs: tuple[RecordedRequest, RecordedResponse], description: str = ""
    ) -> Cassette:
        return Cassette(
            name=name,
            interactions=tuple(Interaction(request, response) for request, response in pairs),
            description=description,
        )

    @staticmethod
    def post(body: dict[str, Any], path: str = "/v1/chat/completions") -> RecordedRequest:
        return RecordedRequest("POST", path, {"content-type": "application/json"}, body=body)

    @staticmethod
    def recorded_get(path: str) -> RecordedRequest:
        return RecordedRequest("GET", path, {"accept": "application/json"})

    @classmethod
    def plain_chat(cls, name: str = "chat/plain", content: str = "Hi", answer: str = "Hello!") -> Cassette:
        """One non-streamed chat exchange in the vLLM 0.9 / NIM 1.x layout."""
        body = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1735689600,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "reasoning_content": None,
                        "content": answer,
                        "tool_calls": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                    "stop_reason": None,
                }
            ],
            "usage": {
                "prompt_tokens": 3,
                "total_tokens": 5,
                "completion_tokens": 2,
                "prompt_tokens_details": None,
            },
            "prompt_logprobs": None,
        }
        return cls.cassette(name, (cls.post(cls.chat_body(content)), cls.json_response(body)))

    @staticmethod
    def recorded_request(client: httpx.Client, base_url: str, request: RecordedRequest) -> httpx.Request:
        """Build the HTTP request a cassette interaction recorded (body re-sent as JSON, keys as recorded)."""
        headers = dict(request.headers)
        content: bytes | None = None
        if request.body is not None:
            content = json.dumps(request.body).encode("utf-8")
            headers.setdefault("content-type", "application/json")
        elif request.raw_body is not None:
            content = request.raw_body
        return client.build_request(request.method, base_url + request.path, headers=headers, content=content)

    @staticmethod
    def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
        """Poll ``condition`` until true or ``timeout``: the server logs and counts a request just
        after its last byte left, so a client can be a moment ahead of the log."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    @staticmethod
    def metric_value(text: str, sample: str) -> float:
        """The value of one exact sample line prefix (``name{labels}``) in Prometheus text, 0 if absent."""
        for line in text.splitlines():
            if line.startswith(sample + " "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


@pytest.fixture(scope="session")
def build() -> type[Builders]:
    return Builders


ServeFactory = Callable[..., str]


@pytest.fixture
def serve() -> Iterator[ServeFactory]:
    """``serve(cassettes, **create_app_kwargs) -> base_url``; every server stops when the test ends."""
    with ExitStack() as stack:

        def start(cassettes: Sequence[Cassette], **options: Any) -> str:
            return stack.enter_context(serve_in_thread(create_app(cassettes, **options)))

        yield start


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A plain httpx client; tests pass absolute URLs, so one client serves every server of a test."""
    with httpx.Client(timeout=10.0) as client:
        yield client
