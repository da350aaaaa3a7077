"""HTTP for ChatNVIDIA: headers, pooled clients, and four thin I/O shells.

Why this shape: the published client runs two HTTP stacks (requests and aiohttp) that drift
apart. Here one pure planner, :class:`Exchange`, decides every step of a call (first request,
retries, 202 polls, giving up) and one pure reader turns response bytes into event dicts; the
sync and async shells below only send, sleep and iterate, so they cannot disagree.

URLs are always built absolute from ``settings.base_url`` and headers are sent on every request,
so an injected ``httpx.Client`` works whatever ``base_url`` or headers it was built with (tests
pass ``httpx.Client(transport=httpx.MockTransport(router.handler))`` and nothing is patched).
An injected client keeps its own timeouts and pool limits; ``settings.timeout`` configures the
clients :func:`build_client` makes and bounds 202 polling in every case.

Streams: :func:`stream_events` yields each SSE event's JSON object, stops at ``data: [DONE]``,
and ends quietly when a server closes without ``[DONE]`` (transformers serve does). When the
answer to a streaming request is JSON instead of SSE (a 202 polled to completion on the hosted
gateway delivers the finished ``chat.completion``), that one JSON object is yielded as the only
event, so callers still get the result; it then has ``choices[].message`` rather than
``choices[].delta``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any

import httpx

from ._base_url import normalize_base_url
from ._events import EventReader, parse_json_body
from ._http_settings import DEFAULT_POLLING_BASE, USER_AGENT, HTTPSettings, tls_verification
from ._retry import Exchange, Send

__all__ = [
    "DEFAULT_POLLING_BASE",
    "USER_AGENT",
    "HTTPSettings",
    "arequest_json",
    "astream_events",
    "build_async_client",
    "build_client",
    "build_headers",
    "encode_payload",
    "join_url",
    "normalize_base_url",
    "request_json",
    "shared_client",
    "start_exchange",
    "stream_events",
]


def build_headers(
    settings: HTTPSettings, *, stream: bool, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Request headers: content negotiation, our User-Agent, the key only when there is one.

    ``default_headers`` are merged next and replace a default of the same name whatever its case;
    ``extra`` (headers one call needs, such as NVCF asset references) is merged last.
    """
    headers = {
        "Accept": "text/event-stream" if stream else "application/json",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    key = (settings.api_key or "").strip()
    if key:
        headers["Authorization"] = f"Bearer {key}"
    for layer in (settings.default_headers, extra or {}):
        for name, value in layer.items():
            for existing in [k for k in headers if k.lower() == name.lower()]:
                del headers[existing]
            headers[name] = value
    return headers


def build_client(settings: HTTPSettings, *, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """A pooled client, reused across calls (one TCP/TLS handshake, not one per request)."""
    return httpx.Client(
        base_url=settings.base_url,
        timeout=httpx.Timeout(settings.timeout),
        transport=transport,
        verify=tls_verification(settings.verify),
    )


_SHARED_CLIENTS: dict[tuple[str, float | None, object], httpx.Client] = {}
_SHARED_LOCK = threading.Lock()


def shared_client(settings: HTTPSettings) -> httpx.Client:
    """The process's sync client for ``settings``' base URL, timeout and trust, built on first use.

    Why shared: a model's own client made its first call pay for building the client (reading the
    proxy variables, parsing URLs) and a new connection, so a fresh model's first call cost 1.5x
    its later ones; models with the same settings now share one connection pool, as
    langchain-openai does for its default clients. A client holds no key (headers travel with
    each request) and is safe to use from many threads. Sync only: an async client belongs to the
    event loop it first ran on, so each model keeps its own. A client closed by someone is
    replaced by a new one.
    """
    key = (settings.base_url, settings.timeout, tls_verification(settings.verify))
    with _SHARED_LOCK:
        client = _SHARED_CLIENTS.get(key)
        if client is None or client.is_closed:
            client = _SHARED_CLIENTS[key] = build_client(settings)
    return client


def build_async_client(
    settings: HTTPSettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The async twin of :func:`build_client`."""
    return httpx.AsyncClient(
        base_url=settings.base_url,
        timeout=httpx.Timeout(settings.timeout),
        transport=transport,
        verify=tls_verification(settings.verify),
    )


def encode_payload(payload: Mapping[str, Any] | None) -> bytes | None:
    """Compact UTF-8 JSON, as NIM and vLLM send it; a clear error for what JSON cannot hold."""
    if payload is None:
        return None
    try:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"the request payload cannot be sent as JSON ({exc}); pass only str, int, float (not NaN "
            "or infinity), bool, None, lists and dicts"
        ) from None
    return text.encode("utf-8")


def join_url(base_url: str, path: str) -> str:
    """``path`` relative to the API root; an absolute http(s) URL is used as it is."""
    if path.lower().startswith(("http://", "https://")):
        return path
    return f"{base_url}/{path.lstrip('/')}"


def start_exchange(
    settings: HTTPSettings,
    method: str,
    path: str,
    payload: Mapping[str, Any] | None,
    *,
    stream: bool,
    headers: Mapping[str, str] | None = None,
) -> Exchange:
    """The planner for one call, primed with its first request (``headers``: this call's own)."""
    first = Send(
        method.upper(),
        join_url(settings.base_url, path),
        build_headers(settings, stream=stream, extra=headers),
        encode_payload(payload),
    )
    return Exchange(settings, first)


def _needs_body(status: int) -> bool:
    """Whether the shell must read the body before deciding (errors and 202s, not a live stream)."""
    return not 200 <= status < 300 or status == 202


def _send(client: httpx.Client, send: Send) -> httpx.Response | httpx.RequestError:
    try:
        return client.request(send.method, send.url, headers=send.headers, content=send.content)
    except httpx.RequestError as exc:
        return exc


async def _asend(client: httpx.AsyncClient, send: Send) -> httpx.Response | httpx.RequestError:
    try:
        return await client.request(send.method, send.url, headers=send.headers, content=send.content)
    except httpx.RequestError as exc:
        return exc


def _settle(exchange: Exchange, outcome: httpx.Response | httpx.RequestError) -> Send | dict[str, Any]:
    """What follows one attempt: the next request, or the JSON answer; giving up raises."""
    if isinstance(outcome, httpx.RequestError):
        return exchange.on_failure(outcome)
    following = exchange.on_response(outcome.status_code, outcome.headers, outcome.content)
    if following is not None:
        return following
    return parse_json_body(outcome.status_code, outcome.headers, outcome.content)


def request_json(
    client: httpx.Client,
    settings: HTTPSettings,
    method: str,
    path: str,
    payload: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Send one call (with retries and polling) and return the JSON object it answered."""
    exchange = start_exchange(settings, method, path, payload, stream=False, headers=headers)
    step: Send | dict[str, Any] = exchange.first
    while isinstance(step, Send):
        if step.delay:
            settings.sleep(step.delay)
        step = _settle(exchange, _send(client, step))
    return step


async def arequest_json(
    client: httpx.AsyncClient,
    settings: HTTPSettings,
    method: str,
    path: str,
    payload: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The async twin of :func:`request_json`."""
    exchange = start_exchange(settings, method, path, payload, stream=False, headers=headers)
    step: Send | dict[str, Any] = exchange.first
    while isinstance(step, Send):
        if step.delay:
            await settings.asleep(step.delay)
        step = _settle(exchange, await _asend(client, step))
    return step


def stream_events(
    client: httpx.Client,
    settings: HTTPSettings,
    path: str,
    payload: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> Generator[dict[str, Any], None, None]:
    """POST a streaming call and yield each event's JSON object (see the module docstring).

    A generator, so a caller that stops early can ``close()`` it and free the connection at once.
    """
    exchange = start_exchange(settings, "POST", path, payload, stream=True, headers=headers)
    send: Send | None = exchange.first
    while send is not None:
        if send.delay:
            settings.sleep(send.delay)
        reader: EventReader | None = None
        try:
            with client.stream(send.method, send.url, headers=send.headers, content=send.content) as response:
                status = response.status_code
                send = exchange.on_response(
                    status, response.headers, response.read() if _needs_body(status) else b""
                )
                if send is None:
                    reader = EventReader(status, response.headers)
                    chunks = response.iter_bytes()
                    for chunk in chunks:
                        yield from reader.feed(chunk)
                        if reader.done:
                            # Read to the body's end (only the chunked terminator is left after
                            # [DONE]) so the connection goes back to the pool instead of being
                            # closed half-read, which made the next call open a new one.
                            for _ in chunks:
                                pass
                            return
                    yield from reader.finish()
        except httpx.RequestError as exc:
            send = exchange.on_failure(exc, reader)


async def astream_events(
    client: httpx.AsyncClient,
    settings: HTTPSettings,
    path: str,
    payload: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> AsyncGenerator[dict[str, Any], None]:
    """The async twin of :func:`stream_events`; call ``aclose()`` when stopping early.

    Async generators are not closed promptly by garbage collection, so an abandoned stream would
    hold its pooled connection until the event loop gets round to finalising it.
    """
    exchange = start_exchange(settings, "POST", path, payload, stream=True, headers=headers)
    send: Send | None = exchange.first
    while send is not None:
        if send.delay:
            await settings.asleep(send.delay)
        reader: EventReader | None = None
        try:
            async with client.stream(
                send.method, send.url, headers=send.headers, content=send.content
            ) as response:
                status = response.status_code
                body = await response.aread() if _needs_body(status) else b""
                send = exchange.on_response(status, response.headers, body)
                if send is None:
                    reader = EventReader(status, response.headers)
                    achunks = response.aiter_bytes()
                    async for chunk in achunks:
                        for event in reader.feed(chunk):
                            yield event
                        if reader.done:
                            async for _ in achunks:  # as in stream_events: keep the connection
                                pass
                            return
                    for event in reader.finish():
                        yield event
        except httpx.RequestError as exc:
            send = exchange.on_failure(exc, reader)
