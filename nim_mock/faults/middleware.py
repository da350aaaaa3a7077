"""Fault injection as ASGI middleware around the mock's router.

Why middleware: a fault must land on every answer the mock gives, replayed or synthesized, without
the endpoints knowing about it. Sitting between the app's request observer and its router, this
layer sees each request before any endpoint and each response message as it leaves, so it can:

- wait before the request goes in (``latency``);
- answer in its place (429, 5xx) without touching the cassette, so the retry gets the recording;
- answer 202 + ``NVCF-REQID`` and hold the request (body included) until the client has polled
  ``GET /v2/nvcf/pexec/status/<id>`` often enough, then run it and send its answer to that poll;
- reshape a stream as its events pass through ``send``: wait before the first or each later
  event, corrupt one, add an in-stream error and ``[DONE]``, or stop sending and return without
  finishing the body, which makes uvicorn close the connection with the chunked body unterminated
  (what a client sees when a real connection drops).

Each request's faults go into its log line (the request observer writes it after this layer
returns) and into the ``nim_mock_faults_total`` metric. Requests without a fault header, when no
rule is loaded, pass straight through.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nim_mock.faults.kinds import FAULT_HEADER, Accepted, FaultRulesError
from nim_mock.faults.plan import Applied, Effects, FaultPlan, RequestFacts, combine
from nim_mock.faults.rules import parse_header
from nim_mock.faults.shaper import Halt, Report, Shaper
from nim_mock.faults.wire import Head, accepted_response, error_response, problem_response
from nim_mock.serve.metrics import Metrics
from nim_mock.serve.note import RequestNote, note_of
from nim_mock.serve.replay import Clock
from nim_mock.wire.errors import ErrorLayout, Problem
from nim_mock.wire.http import NVCF_REQID_HEADER, NVCF_STATUS_HEADER, NVCF_STATUS_PATH

__all__ = ["FaultMiddleware", "passes_through"]

_STATUS_ROUTE = NVCF_STATUS_PATH.rstrip("/")
_HEADER = FAULT_HEADER.encode("latin-1")
_REQID = NVCF_REQID_HEADER.encode("latin-1")
_FULFILLED = (NVCF_STATUS_HEADER.encode("latin-1"), b"fulfilled")
_MAX_PENDING = 1000
"""202'd requests held for polling; the oldest is forgotten first (a client that never polls)."""


@dataclass(slots=True)
class _Pending:
    """A request answered 202: what to run when the polls are used up, and how to shape it."""

    scope: Scope
    messages: list[Message]
    polls_left: int
    polls: int
    effects: Effects
    number: int


def _header(scope: Scope, name: bytes) -> str | None:
    """Every value of header ``name``, joined with commas as HTTP reads a repeated list header."""
    values = [value.decode("latin-1") for key, value in scope.get("headers", ()) if key.lower() == name]
    return ", ".join(values) if values else None


def passes_through(plan: FaultPlan, scope: Scope) -> bool:
    """Whether the request ``scope`` gets no fault for sure: no fault header, and no rule loaded.

    The header is looked for as :class:`FaultMiddleware` reads it (``_header``, whatever the case
    of its name), so a request the lane lets pass is one the middleware would have passed too."""
    return not plan.rules.rules and _header(scope, _HEADER) is None


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out the buffered body first, then the connection's own messages
    (so the app still hears about a client that hangs up)."""
    queue = list(messages)

    async def replayed() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replayed


def _facts(scope: Scope, messages: list[Message], complete: bool, parse: bool) -> RequestFacts:
    method, path = str(scope["method"]).upper(), str(scope["path"])
    if not (parse and complete):
        return RequestFacts(method, path)
    try:
        body = json.loads(b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request"))
    except (ValueError, RecursionError):
        return RequestFacts(method, path)
    if not isinstance(body, dict):
        return RequestFacts(method, path)
    model = body.get("model")
    return RequestFacts(method, path, model if isinstance(model, str) else None, body.get("stream") is True)


async def _send_head(send: Send, head: Head) -> None:
    status, headers, body = head
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _skip_the_rest(effects: Effects, report: Report, answered_by: str, reason: str) -> None:
    """An answer fault (202 or an error) ends the request here: every chosen fault but it and the
    latency already waited is reported as not applied, with ``reason``."""
    for kind, _ in effects.chosen:
        if kind not in (answered_by, "latency"):
            report.skipped.setdefault(kind, reason)


class FaultMiddleware:
    """Applies the faults a request's header and the app's rules ask for (module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        plan: FaultPlan,
        metrics: Metrics,
        clock: Clock,
        error_layout: ErrorLayout,
        max_body_bytes: int,
    ) -> None:
        self._app = app
        self._plan = plan
        self._metrics = metrics
        self._clock = clock
        self._layout = error_layout
        self._limit = max_body_bytes
        self._pending: OrderedDict[str, _Pending] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        if scope["method"] == "GET" and path.startswith(NVCF_STATUS_PATH):
            request_id = path[len(NVCF_STATUS_PATH) :]
            pending = self._pending.get(request_id)
            if pending is not None:
                await self._poll(scope, receive, send, request_id, pending)
                return
        if passes_through(self._plan, scope):
            await self._app(scope, receive, send)
            return
        header = _header(scope, _HEADER)
        rules = self._plan.rules
        note = note_of(scope)
        try:
            header_faults = parse_header(header) if header is not None else ()
        except FaultRulesError as error:
            note.route, note.answer = path, f"refused: bad {FAULT_HEADER} header"
            problem = Problem(400, "BadRequestError", str(error))
            await _send_head(send, problem_response(problem, self._layout))
            return
        messages, complete = await self._buffer(receive) if scope["method"] != "GET" else ([], True)
        decision = self._plan.decide(_facts(scope, messages, complete, rules.needs_body))
        faults = (*header_faults, *decision.faults)
        sources = (*(["header"] * len(header_faults)), *decision.sources)
        if not faults:
            await self._app(scope, _replaying(messages, receive), send)
            return
        effects = combine(faults, sources)
        report = Report()
        self._plan.begin()
        try:
            await self._apply(scope, receive, send, messages, complete, effects, report, decision.number)
        finally:
            self._close(note, scope, effects, report, decision.number)

    async def _apply(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        messages: list[Message],
        complete: bool,
        effects: Effects,
        report: Report,
        number: int,
    ) -> None:
        note = note_of(scope)
        if effects.delay_ms:
            await self._clock.sleep(effects.delay_ms / 1000.0)
            note.arrived += effects.delay_ms / 1000.0  # recorded pacing starts after the wait
            report.took_effect.add("latency")
        answer = effects.answer
        if isinstance(answer, Accepted):
            if not complete:
                report.skipped["accepted"] = "the request body was too large to hold"
            else:
                request_id = self._plan.next_request_id()
                self._hold(request_id, _Pending(scope, messages, answer.polls, answer.polls, effects, number))
                report.took_effect.add("accepted")
                note.route = note.route if note.route != "unknown" else str(scope["path"])
                note.answer = f"held as {request_id}"
                _skip_the_rest(effects, report, "accepted", "applied to the answer of the final poll")
                await _send_head(send, accepted_response(request_id))
                return
        elif answer is not None:
            report.took_effect.add(answer.KIND)
            note.route = str(scope["path"])
            note.answer = "not asked (fault answered)"
            await _send_head(send, error_response(answer, self._layout, effects.answer_source))
            _skip_the_rest(effects, report, answer.KIND, f"the {answer.label()} answer replaced the response")
            return
        await self._run(scope, _replaying(messages, receive), send, effects, report, [])

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        effects: Effects,
        report: Report,
        extra_headers: list[tuple[bytes, bytes]],
    ) -> None:
        """Run the app underneath, through a stream shaper when a fault reshapes the answer."""
        if not effects.shapes_stream and not extra_headers:
            await self._app(scope, receive, send)
            return
        shaper = Shaper(send, effects, report, self._clock.sleep, self._layout, extra_headers)
        try:
            await self._app(scope, receive, shaper)
        except* Halt:
            pass  # a cut returns with the body unfinished: uvicorn then drops the connection
        if shaper.finish_body:
            # Only now: while the app's stream ran, a finished body would have read as a hang-up.
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        shaper.finish_report()

    async def _poll(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, pending: _Pending
    ) -> None:
        note = note_of(scope)
        note.route = _STATUS_ROUTE
        if pending.polls_left > 0:
            pending.polls_left -= 1
            done = pending.polls - pending.polls_left
            note.answer = f"[faults: 202 poll {done}/{pending.polls} for request {pending.number}]"
            await _send_head(send, accepted_response(request_id))
            return
        self._pending.pop(request_id, None)
        inner = dict(pending.scope)
        inner["state"] = scope.setdefault("state", {})  # the poll's note gets the answer's details
        effects = pending.effects.without_answer()
        report = Report()
        self._plan.begin()
        extra = [(_REQID, request_id.encode("latin-1")), _FULFILLED]
        try:
            await self._run(inner, _replaying(pending.messages, receive), send, effects, report, extra)
        finally:
            note.route = _STATUS_ROUTE
            label = f"202 polled {pending.polls}x, answering request {pending.number}"
            effects.chosen.insert(0, ("poll", label))
            report.took_effect.add("poll")
            self._close(note, inner, effects, report, pending.number, count_poll=False)

    def _hold(self, request_id: str, pending: _Pending) -> None:
        self._pending[request_id] = pending
        while len(self._pending) > _MAX_PENDING:
            self._pending.popitem(last=False)

    async def _buffer(self, receive: Receive) -> tuple[list[Message], bool]:
        """Read the request body (up to the app's limit) so rules can see it and a 202 can hold it."""
        messages: list[Message] = []
        total = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages, False
            total += len(message.get("body", b""))
            if not message.get("more_body", False):
                return messages, True
            if total > self._limit:
                return messages, False  # the app underneath refuses it; nothing to hold

    def _close(
        self,
        note: RequestNote,
        scope: Scope,
        effects: Effects,
        report: Report,
        number: int,
        *,
        count_poll: bool = True,
    ) -> None:
        """Count what took effect and add every fault to the request's log line."""
        parts: list[str] = []
        labels: list[str] = []
        for kind, label in effects.chosen:
            if kind in report.took_effect:
                parts.append(label)
                labels.append(label)
                if kind != "poll" or count_poll:
                    self._metrics.fault(kind)
            else:
                reason = report.skipped.get(kind, "the request ended first")
                parts.append(f"{label} (not applied: {reason})")
        parts += [f"{label} (ignored: another fault already decides this)" for label in effects.ignored]
        self._plan.record(Applied(number, str(scope["path"]), tuple(labels)) if labels else None)
        if parts:
            note.answer = f"{note.answer} [faults: {'; '.join(parts)}]".strip()
