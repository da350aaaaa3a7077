"""The bytes a fault puts on the wire: error answers, 202s, in-stream errors, broken events.

Pure functions, so every injected byte can be checked in a unit test and matches what a real
server sends (nim-wire-facts.md): HTTP errors in the configured error layout (NIM 1.x flat,
vLLM >= 0.10 nested, or the hosted gateway's ``{"status","title"}``), in-stream errors rendered
with ``json.dumps``' default spacing as vLLM does (§3.6) and followed by ``data: [DONE]``, and the
NVCF 202 answer with its ``NVCF-REQID`` (§2.3). Headers are framed by the replayer's
``wire_headers``, so a fault's answer and a recorded one carry ``content-length`` alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from http import HTTPStatus

from nim_mock.cassette import RecordedResponse, compact_json
from nim_mock.faults.kinds import RateLimit, ServerError, StreamError
from nim_mock.serve.replay import wire_headers
from nim_mock.wire.errors import ErrorLayout, Problem, error_body, render_problem
from nim_mock.wire.http import JSON_CONTENT_TYPE, NVCF_REQID_HEADER, NVCF_STATUS_HEADER

__all__ = [
    "DONE_EVENT",
    "accepted_response",
    "error_response",
    "malformed_event",
    "problem_response",
    "stream_error_events",
]

DONE_EVENT = b"data: [DONE]\n\n"
_JSON = ("content-type", JSON_CONTENT_TYPE)
_TYPES = {
    400: "BadRequestError",
    404: "NotFoundError",
    429: "Too Many Requests",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}
"""Error ``type`` per code as NIM 1.x names them; other codes use the HTTP phrase (vLLM's habit)."""

Head = tuple[int, list[tuple[bytes, bytes]], bytes]
"""Status, raw headers and body of a complete answer."""


def _type_for(code: int) -> str:
    if code in _TYPES:
        return _TYPES[code]
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "InternalServerError"


def _framed(status: int, headers: Iterable[tuple[str, str]], body: bytes) -> Head:
    return status, wire_headers(RecordedResponse(status, tuple(headers), body)), body


def error_response(fault: RateLimit | ServerError, default_layout: ErrorLayout, source: str) -> Head:
    """The 429 or 5xx a fault answers with, in the fault's layout or the app's."""
    status = 429 if isinstance(fault, RateLimit) else fault.status
    layout = fault.layout or default_layout
    what = "rate limited" if status == 429 else "server error"
    message = f"nim-mock fault ({source}): {what}, HTTP {status}"
    headers: list[tuple[str, str]] = []
    if fault.retry_after is not None:
        message += f"; retry after {fault.retry_after:g}s"
        headers.append(("retry-after", f"{fault.retry_after:g}"))
    if layout == "gateway":
        body = compact_json({"status": status, "title": HTTPStatus(status).phrase})
    else:
        body = error_body(layout, message=message, type_=_type_for(status), code=status)
    return _framed(status, [*headers, _JSON], body)


def problem_response(problem: Problem, layout: ErrorLayout) -> Head:
    """A request the fault layer refuses itself (a bad fault header), rendered as the router would."""
    return _framed(*render_problem(problem, layout))


def accepted_response(request_id: str) -> Head:
    """NVCF's "accepted, poll for it": 202 with ``NVCF-REQID`` and an empty JSON object."""
    headers = [(NVCF_REQID_HEADER, request_id), (NVCF_STATUS_HEADER, "pending-evaluation"), _JSON]
    return _framed(202, headers, b"{}")


def stream_error_events(fault: StreamError, default_layout: ErrorLayout, sent: int) -> list[bytes]:
    """The in-stream error event (``json.dumps`` spacing, as vLLM sends it) and the closing ``[DONE]``."""
    message = fault.message or f"nim-mock fault: the stream failed after {sent} event(s)"
    inner: dict[str, object] = {"message": message, "type": _type_for(fault.code), "param": None}
    inner["code"] = fault.code
    if (fault.layout or default_layout) == "nim":
        inner = {"object": "error", **inner}
    return [b"data: " + json.dumps({"error": inner}).encode("ascii") + b"\n\n", DONE_EVENT]


def malformed_event(event: bytes) -> bytes:
    """``event`` with its data cut in half at a character boundary: still an event, no longer JSON."""
    text = event.decode("utf-8", errors="replace")
    data = text.removeprefix("data:").strip()
    half = data[: max(1, len(data) // 2)] if len(data) > 1 else "{"
    return b"data: " + half.encode("utf-8") + b"\n\n"
