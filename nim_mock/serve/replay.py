"""Sending a recorded response back: same status, same headers in the same order, same bytes, same pace.

Every byte the mock sends goes through :class:`ReplayResponse`, whether it was recorded or built by
the mock (errors, health, listings), so there is exactly one place that decides framing headers.
Headers the server computes (``content-length``, ``transfer-encoding``, ``date``, ``connection``)
are never replayed; ``content-length`` is recomputed and put where Starlette puts it (just before
``content-type``), and uvicorn adds ``date``.

Streams are paced against an absolute schedule: event *i* leaves at ``start + t_ms * speed``
where ``start`` is when the request arrived, so a slow send never pushes the later events back
(no drift), and ``speed == 0`` skips the clock entirely (but still lets other requests run every
few events). A client that hangs up mid-stream is
noticed both while waiting (a task listens for ``http.disconnect``) and while sending (uvicorn
raises an ``OSError``); either way the stream stops quietly and the caller is told.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Protocol

import anyio
import anyio.lowlevel
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from nim_mock.cassette import Event, RecordedResponse
from nim_mock.serve.note import StreamOutcome
from nim_mock.wire.http import COMPUTED_HEADERS

__all__ = [
    "Clock",
    "MonotonicClock",
    "ReplayResponse",
    "paced",
    "wire_headers",
]

_NO_BODY_STATUSES = frozenset({204, 304})
_EVENTS_PER_TURN = 64
"""Unpaced (speed 0), a stream lets the event loop run other requests after this many events: a
send to a client that keeps up never waits, so a 60,000-event stream would otherwise hold the loop
for its whole length."""


class Clock(Protocol):
    """The time seam: replay asks it for the time and to wait, so tests can drive a fake one."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """Wall-clock-independent seconds (``time.monotonic``) and the event loop's sleep."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def wire_headers(response: RecordedResponse) -> list[tuple[bytes, bytes]]:
    """The headers to send, in recorded order, with the framing ones recomputed.

    A value's leading and trailing spaces are not part of it in HTTP (RFC 9110 5.5), and the
    server refuses to send them, so a hand-written ``" x"`` goes out as ``"x"``.

    A body gets a ``content-length`` (inserted before the first ``content-type``, as Starlette
    orders them); a stream gets none, so uvicorn frames it with chunked transfer encoding.
    """
    headers = [
        (name.lower().encode("latin-1"), value.strip(" \t").encode("latin-1"))
        for name, value in response.headers
        if name.lower() not in COMPUTED_HEADERS
    ]
    if response.streamed or response.status in _NO_BODY_STATUSES:
        return headers
    length = (b"content-length", str(len(response.body)).encode("ascii"))
    position = next((i for i, (name, _) in enumerate(headers) if name == b"content-type"), len(headers))
    headers.insert(position, length)
    return headers


async def paced(
    events: Iterable[Event], *, start: float, speed: float, clock: Clock
) -> AsyncIterator[tuple[Event, float | None]]:
    """Yield each event once its absolute deadline has come, with that deadline (``None`` at speed 0)."""
    for event in events:
        if speed <= 0:
            yield event, None
            continue
        deadline = start + event.t_ms * speed / 1000.0
        delay = deadline - clock.now()
        if delay > 0:
            await clock.sleep(delay)
        yield event, deadline


class ReplayResponse(Response):
    """An ASGI response that replays one :class:`RecordedResponse` byte for byte and on schedule.

    ``on_lag`` receives how late each event left (seconds; only when pacing, speed > 0);
    ``outcome`` is filled in as the stream goes, for the request log and the metrics.
    ``in_one_write``: at speed 0, send every event in one body message. Byte for byte the same
    stream (TCP keeps no message borders), for a client in the server's own process: there a write
    per event makes the client's thread and the server's take turns on the GIL once per event.
    """

    def __init__(
        self,
        recorded: RecordedResponse,
        *,
        start: float,
        speed: float = 0.0,
        clock: Clock | None = None,
        on_lag: Callable[[float], None] | None = None,
        outcome: StreamOutcome | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
        in_one_write: bool = False,
    ) -> None:
        self.recorded = recorded
        self.status_code = recorded.status
        self.body = recorded.body
        # ``headers``: ``wire_headers(recorded)`` computed once by a caller that replays it often.
        self.raw_headers = headers if headers is not None else wire_headers(recorded)
        self._start = start
        self._speed = speed
        self._clock: Clock = clock or MonotonicClock()
        self._on_lag = on_lag
        self._in_one_write = in_one_write
        self.outcome = outcome if outcome is not None else StreamOutcome()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        recorded = self.recorded
        if self._speed > 0 and recorded.t_headers_ms > 0:
            delay = self._start + recorded.t_headers_ms * self._speed / 1000.0 - self._clock.now()
            if delay > 0:
                await self._clock.sleep(delay)
        try:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            if recorded.status in _NO_BODY_STATUSES:  # HTTP gives a 204 or 304 no body to send
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            if recorded.events is None:
                await send({"type": "http.response.body", "body": self.body, "more_body": False})
                return
        except OSError:
            self.outcome.disconnected = True
            return
        await self._stream(recorded.events, receive, send)

    async def _stream(self, events: tuple[Event, ...], receive: Receive, send: Send) -> None:
        outcome = self.outcome
        outcome.total = len(events)
        if self._in_one_write and self._speed == 0:  # one write: no disconnect to watch for meanwhile
            try:
                body = b"".join(event.raw for event in events)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                outcome.sent = outcome.total
            except OSError:
                outcome.disconnected = True
            return
        async with anyio.create_task_group() as group:

            async def watch_for_disconnect() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                if outcome.sent < outcome.total:
                    outcome.disconnected = True
                group.cancel_scope.cancel()

            group.start_soon(watch_for_disconnect)
            try:
                if self._speed > 0:
                    await self._paced(events, send)
                else:
                    await self._back_to_back(events, send)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except OSError:
                outcome.disconnected = True
            group.cancel_scope.cancel()

    async def _back_to_back(self, events: tuple[Event, ...], send: Send) -> None:
        """Speed 0: no schedule, so no pacing generator; yield to other requests now and then."""
        outcome = self.outcome
        for event in events:
            await send({"type": "http.response.body", "body": event.raw, "more_body": True})
            outcome.sent += 1
            if outcome.sent % _EVENTS_PER_TURN == 0:
                await anyio.lowlevel.checkpoint()

    async def _paced(self, events: tuple[Event, ...], send: Send) -> None:
        outcome, clock, on_lag = self.outcome, self._clock, self._on_lag
        async for event, deadline in paced(events, start=self._start, speed=self._speed, clock=clock):
            await send({"type": "http.response.body", "body": event.raw, "more_body": True})
            outcome.sent += 1
            if deadline is not None and on_lag is not None:
                on_lag(clock.now() - deadline)
