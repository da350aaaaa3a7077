"""An upstream that sends back everything a request carried, in every encoding, as JSON or as SSE.

It stands in for the worst server a recording can meet: one that repeats the client's credentials
in its answers (debug fields, error messages, session cookies). ``POST /v1/echo`` reads every string
the request carried (each header's value and the token after its scheme word, both halves of Basic
credentials and their pair, each cookie, the raw query and each decoded parameter, the raw body
and every string in its JSON) and answers each one in every encoding of ``ENCODINGS``:

- in the JSON answer (``{"received": ..., "encoded": {encoding: [...]}}``), and in response headers
  (``x-echo-<n>-<encoding>``, for the encodings a header can carry) with the cookies as
  ``Set-Cookie``;
- or, when the body asks for ``stream``, as server-sent events: per string, one chat chunk holding
  it in every encoding (a line each) and a raw ``data:`` line; then what was received, as JSON, and
  ``[DONE]``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _url64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda text: text,
    "percent": lambda text: quote(text, safe=""),  # a space as %20
    "percent-plus": quote_plus,  # a space as +
    "json": json.dumps,  # escaped and quoted, then escaped again inside the answer
    "json-escaped-slash": lambda text: json.dumps(text)[1:-1].replace("/", "\\/"),
    "base64": _b64,
    "base64-unpadded": lambda text: _b64(text).rstrip("="),
    "base64-urlsafe": _url64,
    "base64-urlsafe-unpadded": lambda text: _url64(text).rstrip("="),
}
"""How a server may repeat what it received."""

_HEADER_SAFE = ("percent", "base64", "base64-urlsafe-unpadded")
"""Encodings whose output is always a valid header value (no spaces at the ends, only ASCII)."""


def _basic(value: str) -> list[str]:
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic":
        return []
    try:
        pair = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return []
    return [pair, *pair.partition(":")[::2]]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _received(request: Request, body: bytes) -> dict[str, Any]:
    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    return {
        "headers": headers,
        "tokens": [value.partition(" ")[2] for _, value in headers if " " in value],
        "basic": [part for _, value in headers for part in _basic(value)],
        "cookies": request.cookies,
        "query": request.url.query,
        "params": list(request.query_params.multi_items()),
        "body": body.decode("utf-8", "replace"),
        "json": parsed,
    }


def _echoed(received: dict[str, Any]) -> list[str]:
    """Every string the request carried, once each, in the order first met."""
    return list(dict.fromkeys(text for text in _strings(received) if text))


def _chunk(content: str) -> bytes:
    data = {
        "id": "echo",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": content}}],
    }
    return b"data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def echo_app() -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        received = _received(request, body)
        texts = _echoed(received)
        encoded = {name: [encode(text) for text in texts] for name, encode in ENCODINGS.items()}
        answer = {"received": received, "encoded": encoded}
        if isinstance(received["json"], dict) and received["json"].get("stream"):

            async def events() -> AsyncIterator[bytes]:
                for text in texts:
                    yield _chunk("\n".join(encode(text) for encode in ENCODINGS.values()))
                    yield b"data: " + text.encode() + b"\n\n"
                yield b"data: " + json.dumps({"received": received}).encode() + b"\n\n"
                yield b"data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        response = JSONResponse(answer)
        for index, text in enumerate(texts):
            for name in _HEADER_SAFE:
                response.headers.append(f"x-echo-{index}-{name}", ENCODINGS[name](text))
        for name, value in received["cookies"].items():
            response.headers.append("set-cookie", f"{name}={value}; Path=/")
        return response

    return Starlette(routes=[Route("/v1/echo", echo, methods=["POST"])])
