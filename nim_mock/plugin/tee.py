"""Watching live traffic without standing in its way: an httpx transport that keeps a copy.

In live mode tests talk to the endpoint directly (no proxy in between); the clients the fixtures
build carry this transport, which hands each exchange to a ``Recording`` once its body has been
read, so the plugin can compare it with the test's cassette (``drift``). Chunks pass to
the caller as they arrive; only a copy is kept. The copy is for comparison only and never written.

Sync and async share everything but the iteration: ``_Copy`` collects and finishes, the two
stream classes and the two transports are shells around it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx

from nim_mock.cassette import Event, Interaction, RecordedResponse
from nim_mock.record.proxy import Recording, recorded_request
from nim_mock.wire.http import EVENT_STREAM_TYPE
from nim_mock.wire.sse import EventSplitter

__all__ = ["TeeAsyncTransport", "TeeTransport"]


class _Copy:
    """The copy of one exchange: request, status, headers, and the body as it is read."""

    def __init__(
        self, sink: Recording, request: httpx.Request, response: httpx.Response, start: float
    ) -> None:
        self._sink = sink
        self._request = recorded_request(
            request.method,
            request.url.raw_path.decode("ascii"),
            request.headers.multi_items(),
            request.content,
        )
        self._response = response
        self._start = start
        self._chunks: list[bytes] = []
        self._done = False

    def keep(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    def finish(self, error: BaseException | None = None) -> None:
        if self._done:
            return
        self._done = True
        if error is not None:
            self._sink.fail(f"{self._request.method} {self._request.path}: {type(error).__name__}: {error}")
            return
        raw = b"".join(self._chunks)
        headers = self._response.headers
        # The copy holds the bytes as sent; decode them the way the client does (gzip and friends).
        encoding = headers.get("content-encoding")
        data = (
            httpx.Response(200, headers={"content-encoding": encoding}, content=raw).read()
            if encoding
            else raw
        )
        elapsed = round((time.perf_counter() - self._start) * 1000.0, 1)
        events = None
        if headers.get("content-type", "").lower().startswith(EVENT_STREAM_TYPE):
            splitter = EventSplitter()
            pieces = [*splitter.feed(data), splitter.close()]
            events = tuple(Event(t_ms=elapsed, raw=piece) for piece in pieces if piece)
        response = RecordedResponse(
            status=self._response.status_code,
            headers=tuple((k.lower(), v) for k, v in headers.multi_items()),
            body=b"" if events is not None else data,
            events=events,
        )
        self._sink.add(Interaction(request=self._request, response=response))


class _SyncCopyStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, copy: _Copy) -> None:
        self._inner = inner
        self._copy = copy

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._inner:
                self._copy.keep(chunk)
                yield chunk
        except Exception as error:
            self._copy.finish(error)
            raise
        self._copy.finish()

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
        self._copy.finish(None)


class _AsyncCopyStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, copy: _Copy) -> None:
        self._inner = inner
        self._copy = copy

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                self._copy.keep(chunk)
                yield chunk
        except Exception as error:
            self._copy.finish(error)
            raise
        self._copy.finish()

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()
        self._copy.finish(None)


def _copied(response: httpx.Response, stream: httpx.SyncByteStream | httpx.AsyncByteStream) -> httpx.Response:
    return httpx.Response(
        status_code=response.status_code,
        headers=response.headers,
        stream=stream,
        extensions=response.extensions,
    )


class TeeTransport(httpx.BaseTransport):
    """Sync transport: sends through ``inner`` and gives ``sink`` a copy of each finished exchange."""

    def __init__(self, sink: Recording, inner: httpx.BaseTransport | None = None) -> None:
        self._sink = sink
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:  # built on first use: a test that never calls pays no TLS set-up
            self._inner = httpx.HTTPTransport()
        request.read()
        self._sink.begin()
        start = time.perf_counter()
        try:
            response = self._inner.handle_request(request)
        except Exception as error:
            self._sink.fail(f"{request.method} {request.url}: {type(error).__name__}: {error}")
            raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        return _copied(
            response, _SyncCopyStream(response.stream, _Copy(self._sink, request, response, start))
        )

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


class TeeAsyncTransport(httpx.AsyncBaseTransport):
    """Async transport: the same as ``TeeTransport``."""

    def __init__(self, sink: Recording, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._sink = sink
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            self._inner = httpx.AsyncHTTPTransport()
        await request.aread()
        self._sink.begin()
        start = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except Exception as error:
            self._sink.fail(f"{request.method} {request.url}: {type(error).__name__}: {error}")
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return _copied(
            response, _AsyncCopyStream(response.stream, _Copy(self._sink, request, response, start))
        )

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()
