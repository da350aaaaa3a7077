"""Shared helpers for the ChatNVIDIA tests: wire bodies, SSE bytes and models on a respx router.

Nothing here patches anything: each model gets ``http_client``/``http_async_client`` built on
``httpx.MockTransport(router.handler)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import respx
from nim_harness import ChatNVIDIA

BASE = "http://127.0.0.1:9/v1"
MODEL = "meta/llama-3.1-8b-instruct"


@contextmanager
def router() -> Iterator[respx.MockRouter]:
    """A router used only as a handler (nothing patched); its calls stay readable after the block.

    An unmocked request fails the test, as ``assert_all_mocked`` would.
    """
    yield respx.MockRouter(base_url=BASE, assert_all_called=False, assert_all_mocked=True)


def llm(mock: respx.MockRouter, **kwargs: Any) -> ChatNVIDIA:
    transport = httpx.MockTransport(mock.handler)
    kwargs.setdefault("model", MODEL)
    kwargs.setdefault("api_key", None)
    return ChatNVIDIA(
        base_url=BASE,
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
        **kwargs,
    )


def completion(
    content: str | None = "Hello!",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    usage: Mapping[str, Any] | None = None,
    **message_extra: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content, **message_extra}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1735689600,
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
    }
    body["usage"] = (
        dict(usage) if usage is not None else {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    )
    return body


def chunk(
    delta: Mapping[str, Any] | None = None, finish_reason: str | None = None, **extra: Any
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": dict(delta), "finish_reason": finish_reason}]
    return {
        "id": "chatcmpl-abc",
        "object": "chat.completion.chunk",
        "model": MODEL,
        "choices": choices,
        **extra,
    }


def sse(events: Iterable[Mapping[str, Any]], *, done: bool = True) -> bytes:
    body = b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in events)
    return body + (b"data: [DONE]\n\n" if done else b"")


def sse_response(events: Iterable[Mapping[str, Any]], *, done: bool = True) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse(events, done=done))


def text_stream(*pieces: str, usage: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in pieces]
    events.append(chunk({"content": ""}, finish_reason="stop"))
    events.append(
        chunk(
            None,
            usage=usage
            or {"prompt_tokens": 5, "completion_tokens": len(pieces), "total_tokens": 5 + len(pieces)},
        )
    )
    return events


def sent_json(mock: respx.MockRouter) -> Any:
    return json.loads(mock.calls.last.request.content)
