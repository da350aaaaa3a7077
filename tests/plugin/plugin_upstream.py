"""A tiny OpenAI-style upstream for record-mode tests: streams slowly, echoes credentials, can die.

It stands in for a real NIM on loopback so the recording proxy is tested over real sockets:
- ``POST /v1/chat/completions`` streams ``EVENTS`` chunks ``gap_s`` apart (then ``[DONE]``) when the
  body asks for ``stream``, else answers one JSON body; both echo the ``Authorization`` header, and
  the JSON body also each cookie's bare value, so a test can prove no credential the client sent
  reaches a cassette, whatever form the server echoes it in;
- a body with ``"die": true`` sends one event and then drops the connection mid-stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

EVENTS = 3


def chunk(content: str, finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-up",
        "object": "chat.completion.chunk",
        "model": "up/model",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


class UpstreamDied(Exception):
    """Raised inside the stream to make uvicorn drop the connection mid-response."""


def upstream_app(gap_s: float = 0.25) -> Starlette:
    async def chat(request: Request) -> Response:
        body = await request.json()
        auth = request.headers.get("authorization", "")
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "chatcmpl-up",
                    "object": "chat.completion",
                    "echo": auth,
                    "cookies": sorted(request.cookies.values()),  # "XYZ" from "Cookie: session=XYZ"
                    "choices": [],
                },
                headers={"set-cookie": "session=abc123secret"},
            )

        async def events() -> AsyncIterator[bytes]:
            yield chunk(f"heard {auth.removeprefix('Bearer ')}")  # the bare key: no pattern marks it
            if body.get("die"):
                await asyncio.sleep(0.05)
                raise UpstreamDied("upstream killed mid-stream (test)")
            for index in range(1, EVENTS):
                await asyncio.sleep(gap_s)
                yield chunk(f"part {index}", "stop" if index == EVENTS - 1 else None)
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def models(request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "up/model", "object": "model"}]})

    return Starlette(
        routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/models", models)]
    )
