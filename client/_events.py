"""Reading a success body: the JSON object of a call, or the JSON events of a stream.

Pure (bytes in, dicts out), so the sync and async shells in ``_http`` share every decision:
where a stream ends (``data: [DONE]``, or simply the end of the body), which event is an error,
what a cut connection looks like, and what to do with an answer that is not an event stream.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ._errors import (
    APIConnectionError,
    ResponseFormatError,
    ServerError,
    error_from_event,
    request_id_from,
)
from .sse import ServerSentEvent, SSEDecoder

__all__ = ["EventReader", "parse_json_body"]

# A stateless decoder. ``raw_decode`` skips the two whitespace regexes ``decode`` runs around
# every document (a fifth of the parse for a token event); see ``_loads``.
_DECODER = json.JSONDecoder()


def _loads(text: str) -> object:
    """``json.loads(text)``, faster for the usual case of a document with nothing around it.

    Anything else (surrounding whitespace, trailing data, invalid JSON) goes through the full
    ``decode``, so what parses and what is refused, and the error, are exactly json.loads'.
    """
    try:
        value, end = _DECODER.raw_decode(text)
    except ValueError:
        return _DECODER.decode(text)
    if end != len(text):
        return _DECODER.decode(text)
    return value


_fast_loads: Callable[[str], object]
try:
    # orjson parses a token event in about a third of the stdlib's time, and parsing was the
    # largest part of the client's own per-chunk work. A dependency on CPython (langchain-core
    # pulls it in through langsmith there anyway); elsewhere the stdlib serves alone. Its answer
    # is used only for an ordinary chunk (see EventReader._convert); anything it refuses (NaN,
    # lone surrogates, nesting past 1024, invalid JSON) is read again by ``_loads``, so what
    # parses and the errors stay json.loads'. The one difference: orjson reads an integer
    # literal past 64 bits as a float instead of refusing it; no chunk field comes near that.
    from orjson import loads as _orjson_loads

    _fast_loads = _orjson_loads
except ImportError:  # pragma: no cover - interpreters without an orjson wheel (PyPy)
    _fast_loads = _loads


def parse_json_body(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """A success body as a JSON object; an error object sent with 200 is raised as what it is."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        excerpt = body[:200].decode("utf-8", errors="replace")
        raise ResponseFormatError(
            f"expected a JSON object, got {excerpt!r}"
            if body
            else "expected a JSON object, got an empty body",
            status=status,
            request_id=request_id_from(headers),
        ) from None
    if not isinstance(parsed, dict):
        raise ResponseFormatError(
            f"expected a JSON object, got {type(parsed).__name__}",
            status=status,
            request_id=request_id_from(headers),
            body=parsed,
        )
    if not parsed.get("choices"):  # only a body without choices can be an error object
        error = error_from_event(parsed)
        if error is not None:
            error.request_id = error.request_id or request_id_from(headers)
            raise error
    return parsed


class EventReader:
    """Turns the bytes of a streamed answer into event dicts; pure, so both shells share it.

    ``done`` turns true at ``data: [DONE]``; ``count`` is how many events were handed out, which
    decides whether a dropped connection may still be retried.
    """

    def __init__(self, status: int, headers: Mapping[str, str]) -> None:
        self._status = status
        self._headers = headers
        self.request_id = request_id_from(headers)
        content_type = (headers.get("content-type") or "").lower()
        self._json_body: list[bytes] | None = [] if "json" in content_type else None
        # Neither SSE nor JSON (an HTML error page from a proxy, say): never mistake it for an
        # empty stream. A missing content type is read as SSE.
        self._foreign = content_type if content_type and self._json_body is None else None
        if self._foreign is not None and "event-stream" in self._foreign:
            self._foreign = None
        self._head = b""
        self._decoder = SSEDecoder()
        self.done = False
        self.count = 0

    def feed(self, chunk: bytes) -> Iterator[dict[str, Any]]:
        """Events completed by ``chunk``; lazily, so events before an error event still arrive."""
        if self._json_body is not None:
            self._json_body.append(chunk)
            return iter(())
        if self._foreign is not None:
            self._head = (self._head + chunk)[:200]
            return iter(())
        return self._convert(self._decoder.feed(chunk), final=False)

    def finish(self) -> Iterator[dict[str, Any]]:
        """End of the body: the pending last event, or the whole JSON answer."""
        if self._json_body is not None:
            answer = parse_json_body(self._status, self._headers, b"".join(self._json_body))
            self.count += 1
            yield answer
            return
        if self._foreign is not None:
            raise ResponseFormatError(
                f"expected an event stream (text/event-stream), got {self._foreign}: "
                f"{self._head.decode('utf-8', errors='replace')!r}",
                status=self._status,
                request_id=self.request_id,
            )
        yield from self._convert(self._decoder.flush(), final=True)
        if not self.count and not self.done:
            raise ResponseFormatError(
                "the stream ended without a single event (and without data: [DONE])",
                status=self._status,
                request_id=self.request_id,
            )

    def _convert(self, events: list[ServerSentEvent], *, final: bool) -> Iterator[dict[str, Any]]:
        fast_loads = _fast_loads
        for event in events:
            if self.done:
                return
            data = event.data
            # Nearly every event is an ordinary chunk: parsed once, checked with three look-ups.
            try:
                parsed: object = fast_loads(data)
            except (ValueError, RecursionError):
                parsed = None
            if type(parsed) is not dict or not parsed.get("choices") or event.event == "error":
                # Anything else: the end marker, a keep-alive, or data that _parse must judge
                # (not JSON, an error object or event, no choices).
                if data == "[DONE]" or (len(data) < 12 and data.strip() == "[DONE]"):
                    self.done = True
                    return
                if not data or data.isspace():
                    continue  # an empty keep-alive event
                parsed = self._parse(event, truncated=final)
            self.count += 1
            yield parsed

    def _parse(self, event: ServerSentEvent, *, truncated: bool) -> dict[str, Any]:
        try:
            parsed: object = _loads(event.data)
        except (ValueError, RecursionError):
            if truncated:
                raise APIConnectionError(
                    f"the stream ended in the middle of an event after {self.count} event(s): "
                    f"{event.data[:120]!r}",
                    request_id=self.request_id,
                ) from None
            if event.event == "error":
                raise ServerError(event.data[:500], status=None, request_id=self.request_id) from None
            raise ResponseFormatError(
                f"a stream event's data is not JSON: {event.data[:200]!r}",
                status=self._status,
                request_id=self.request_id,
            ) from None
        # Ordinary chunks carry choices; only look for an error object in those that do not.
        error = None
        if not (isinstance(parsed, dict) and parsed.get("choices")):
            error = error_from_event(parsed, request_id=self.request_id)
        if error is None and event.event == "error":
            error = ServerError(json.dumps(parsed)[:500], request_id=self.request_id, body=parsed)
        if error is not None:
            raise error
        if not isinstance(parsed, dict):
            raise ResponseFormatError(
                f"a stream event's data is {type(parsed).__name__}, not a JSON object: {event.data[:200]!r}",
                status=self._status,
                request_id=self.request_id,
            )
        return parsed
