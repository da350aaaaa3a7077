"""Reshaping a streamed answer as it passes through ``send``: the stream faults at work.

Kept apart from the middleware because it is the part with the most cases (event counting across
chunk borders, the first event versus later ones, ending early with or without ``[DONE]``) and it
needs nothing but a ``send`` to wrap, so it reads (and is tested through the server) on its own.
Events are counted as whole server-sent events (:class:`EventSplitter`), however the app underneath
chunked its body; a body that is not ``text/event-stream`` only gets the first-token delay.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.types import Message, Send

from nim_mock.faults.kinds import Cut, StreamError
from nim_mock.faults.plan import Effects
from nim_mock.faults.wire import malformed_event, stream_error_events
from nim_mock.wire.errors import ErrorLayout
from nim_mock.wire.http import EVENT_STREAM_TYPE
from nim_mock.wire.sse import EventSplitter

__all__ = ["Halt", "Report", "Shaper"]

_EVENT_STREAM = EVENT_STREAM_TYPE.encode("ascii")


class Halt(Exception):
    """Raised from our ``send`` to stop the app underneath once a fault has ended the response."""


@dataclass(slots=True)
class Report:
    """Which chosen faults took effect, and why the others did not (for the log and metrics)."""

    took_effect: set[str] = field(default_factory=set)
    skipped: dict[str, str] = field(default_factory=dict)


class Shaper:
    """A ``send`` wrapper applying a request's stream faults to the messages passing through."""

    def __init__(
        self,
        send: Send,
        effects: Effects,
        report: Report,
        sleep: Callable[[float], Awaitable[None]],
        layout: ErrorLayout,
        extra_headers: list[tuple[bytes, bytes]],
    ) -> None:
        self._send = send
        self._effects = effects
        self._report = report
        self._sleep = sleep
        self._layout = layout
        self._extra = extra_headers
        self._splitter = EventSplitter()
        self._sse = False
        self._first_body = True
        self.sent = 0
        self.finish_body = False

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = [*message.get("headers", []), *self._extra]
            content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
            self._sse = _EVENT_STREAM in content_type.lower()
            await self._send({**message, "headers": headers})
            return
        if kind != "http.response.body":
            await self._send(message)
            return
        if not self._sse:
            if self._first_body and self._effects.first_token_ms:
                await self._sleep(self._effects.first_token_ms / 1000.0)
                self._report.took_effect.add("slow_first_token")
            self._first_body = False
            await self._send(message)
            return
        for event in self._splitter.feed(message.get("body", b"")):
            await self._event(event)
        if not message.get("more_body", False):
            rest = self._splitter.close()
            if rest:
                await self._send({"type": "http.response.body", "body": rest, "more_body": True})
            end = self._effects.end
            if end is not None and self.sent == end.after:
                await self._end(end)
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _event(self, event: bytes) -> None:
        effects = self._effects
        if effects.end is not None and self.sent == effects.end.after:
            await self._end(effects.end)
        delay = effects.first_token_ms if self.sent == 0 else effects.token_ms
        if delay:
            await self._sleep(delay / 1000.0)
            self._report.took_effect.add("slow_first_token" if self.sent == 0 else "slow_tokens")
        if effects.malformed is not None and self.sent == effects.malformed.after:
            event = malformed_event(event)
            self._report.took_effect.add("malformed")
        await self._send({"type": "http.response.body", "body": event, "more_body": True})
        self.sent += 1

    async def _end(self, end: Cut | StreamError) -> None:
        self._report.took_effect.add(end.KIND)
        if isinstance(end, StreamError):
            for event in stream_error_events(end, self._layout, self.sent):
                await self._send({"type": "http.response.body", "body": event, "more_body": True})
            self.finish_body = True  # sent once the app underneath has stopped (see ``_run``)
        raise Halt

    def finish_report(self) -> None:
        """Explain the stream faults that never got their chance."""
        effects, report = self._effects, self._report
        reason = "not a stream" if not self._sse else f"the stream had only {self.sent} event(s)"
        for fault in (effects.malformed, effects.end):
            if fault is not None and fault.KIND not in report.took_effect:
                report.skipped[fault.KIND] = reason
        if effects.token_ms and "slow_tokens" not in report.took_effect:
            report.skipped["slow_tokens"] = reason
