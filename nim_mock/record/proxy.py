"""The recording proxy: forward each request to a real server, stream the answer back as it arrives,
and hand over one timed ``Interaction`` per finished exchange.

It is an ASGI app (Starlette), so the same code serves the pytest plugin's record mode (mounted per
test behind the plugin's loopback server) and ``nim-mock record --upstream URL``. Nothing is
buffered on the way to the client: each chunk from the upstream is yielded to the client the moment
it arrives, and only a copy is kept for the cassette. Each server-sent event gets the time (ms after
the request went upstream) at which its closing blank line arrived. The client sees the upstream's
framing: a ``content-length`` body keeps its length (only a body httpx had to decode goes out
chunked), and the one ``date`` is the serving side's.

Writing is not done here: finished exchanges go to ``sink.add``, failed ones (upstream
unreachable, dropped mid-stream, client gone) to ``sink.fail`` with a sentence saying what
happened, so a half-received stream never becomes a cassette. The caller redacts (``redact``) and
saves (``_persist.save_cassette``, atomic).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Final, Protocol

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from nim_mock.cassette import Event, Interaction, RecordedRequest, RecordedResponse
from nim_mock.wire.http import COMPUTED_HEADERS, EVENT_STREAM_TYPE, path_with_query
from nim_mock.wire.sse import EventSplitter

__all__ = [
    "Recording",
    "RecordingProxy",
    "RecordingSink",
    "create_recording_app",
    "recorded_request",
]

_HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
    }
)
_NOT_FORWARDED_BACK: Final = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "date"}
)
"""Framing and hop-by-hop headers, which the serving side writes itself (``date`` too: uvicorn adds
the one ``date`` a response carries)."""
_IDENTITY: Final = frozenset({"", "identity"})
_NOT_STORED_RESPONSE: Final = COMPUTED_HEADERS | {"content-encoding"}
"""A cassette holds the decoded body, so the encoding that was undone is not kept either."""
_NOT_STORED_REQUEST: Final = _HOP_BY_HOP | {"user-agent"}
_METHODS: Final = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]


class RecordingSink(Protocol):
    """Where the proxy reports exchanges: ``begin`` once per request, then exactly one ``add`` or ``fail``."""

    def begin(self) -> None: ...

    def add(self, interaction: Interaction) -> None: ...

    def fail(self, reason: str) -> None: ...


@dataclass
class Recording:
    """Collects one test's exchanges (and failures) as the proxy finishes them.

    The proxy runs in the server's thread and finishes an exchange only after the client has read
    its last byte, so the test may be over before ``add`` runs: ``wait_idle`` lets the plugin wait
    for exchanges still in flight before it decides what to write.
    """

    interactions: list[Interaction] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _in_flight: int = 0
    _idle: threading.Condition = field(default_factory=threading.Condition)

    def begin(self) -> None:
        with self._idle:
            self._in_flight += 1

    def add(self, interaction: Interaction) -> None:
        with self._idle:
            self.interactions.append(interaction)
            self._done()

    def fail(self, reason: str) -> None:
        with self._idle:
            self.failures.append(reason)
            self._done()

    def _done(self) -> None:
        self._in_flight = max(self._in_flight - 1, 0)
        self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no exchange is in flight; ``False`` if some still were after ``timeout`` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)


def _stored_request_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The headers a cassette keeps, lower-cased; a repeated one has its values joined as HTTP
    combines them (``, ``; ``; `` for cookies), so no value a client sent goes unseen by redaction."""
    stored: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in _NOT_STORED_REQUEST:
            continue
        joiner = "; " if lowered == "cookie" else ", "
        stored[lowered] = f"{stored[lowered]}{joiner}{value}" if lowered in stored else value
    return stored


def recorded_request(
    method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes
) -> RecordedRequest:
    """A request as a cassette stores it: JSON body parsed, hop-by-hop and noisy headers left out."""
    parsed: object | None = None
    raw: bytes | None = None
    if body:
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):  # not JSON (or nested past what json reads): kept as text
            raw = body
    return RecordedRequest(
        method=method.upper(), path=path, headers=_stored_request_headers(headers), body=parsed, raw_body=raw
    )


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 1)


class RecordingProxy:
    """Forwards requests to ``upstream`` (a base URL; the request path is appended to it) and records them.

    ``transport`` is the seam for tests and for callers with special networking needs; by default
    httpx opens real connections. A fresh client per request (sharing one SSL context) keeps the
    proxy free of event-loop state, so the same instance works under any server.
    """

    def __init__(
        self,
        upstream: str,
        sink: RecordingSink,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self._sink = sink
        self._transport = transport
        # Building an SSL context loads the CA bundle (~20 ms); done once here, not per request, it
        # keeps the proxy's added time to first event at about a millisecond.
        self._ssl = httpx.create_ssl_context()
        self._timeout = timeout or httpx.Timeout(connect=10.0, read=300.0, write=30.0, pool=10.0)

    async def handle(self, request: Request) -> Response:
        self._sink.begin()
        try:
            body = await request.body()
        except Exception as exc:
            self._sink.fail(f"{request.method} {request.url.path}: could not read the request ({exc})")
            raise
        path = path_with_query(request.scope)
        recorded = recorded_request(request.method, path, request.headers.items(), body)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        headers.append(("accept-encoding", "identity"))
        client = httpx.AsyncClient(transport=self._transport, timeout=self._timeout, verify=self._ssl)
        url = self.upstream + path
        start = time.perf_counter()
        try:
            upstream = await client.send(
                client.build_request(request.method, url, headers=headers, content=body), stream=True
            )
        except httpx.HTTPError as exc:
            await client.aclose()
            reason = f"{request.method} {url}: upstream unreachable ({type(exc).__name__}: {exc})"
            self._sink.fail(reason)
            return JSONResponse(
                {
                    "error": {
                        "message": f"nim-harness recording proxy: {reason}",
                        "type": "BadGateway",
                        "code": 502,
                    }
                },
                status_code=502,
            )
        t_headers = _ms_since(start)
        streamed = upstream.headers.get("content-type", "").lower().startswith(EVENT_STREAM_TYPE)
        # The bytes relayed are the upstream's own unless httpx had to decode them, so its
        # content-length still frames them: the client sees the framing the upstream sent.
        decoded = upstream.headers.get("content-encoding", "").lower() not in _IDENTITY
        dropped = _NOT_FORWARDED_BACK if decoded else _NOT_FORWARDED_BACK - {"content-length"}
        back = [(k, v) for k, v in upstream.headers.multi_items() if k.lower() not in dropped]
        stored = tuple((k.lower(), v) for k, v in back if k.lower() not in _NOT_STORED_RESPONSE)
        response = StreamingResponse(
            self._relay(upstream, client, recorded, stored, start, t_headers, streamed),
            status_code=upstream.status_code,
        )
        response.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in back]
        return response

    async def _relay(
        self,
        upstream: httpx.Response,
        client: httpx.AsyncClient,
        recorded: RecordedRequest,
        headers: tuple[tuple[str, str], ...],
        start: float,
        t_headers: float,
        streamed: bool,
    ) -> AsyncIterator[bytes]:
        splitter = EventSplitter()
        events: list[Event] = []
        chunks: list[bytes] = []
        failure = "the client went away before the response finished"
        where = f"{recorded.method} {self.upstream}{recorded.path}"
        try:
            async for chunk in upstream.aiter_bytes():
                if streamed:
                    now = _ms_since(start)
                    events.extend(Event(t_ms=now, raw=raw) for raw in splitter.feed(chunk))
                else:
                    chunks.append(chunk)
                yield chunk
            failure = ""
        except httpx.HTTPError as exc:
            failure = f"the upstream dropped the response mid-way ({type(exc).__name__}: {exc})"
            raise
        finally:
            await upstream.aclose()
            await client.aclose()
            if failure:
                self._sink.fail(f"{where}: {failure}; nothing recorded")
        tail = splitter.close()
        if tail:
            events.append(Event(t_ms=_ms_since(start), raw=tail))
        self._sink.add(
            Interaction(
                request=recorded,
                response=RecordedResponse(
                    status=upstream.status_code,
                    headers=headers,
                    body=b"".join(chunks),
                    events=tuple(events) if streamed else None,
                    t_headers_ms=t_headers,
                ),
            )
        )


def create_recording_app(
    upstream: str, sink: RecordingSink, *, transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """A Starlette app that records every request it forwards to ``upstream`` into ``sink``."""
    proxy = RecordingProxy(upstream, sink, transport=transport)
    return Starlette(routes=[Route("/{path:path}", proxy.handle, methods=_METHODS)])
