"""``create_app``: cassettes in, a Starlette app that answers like a NIM out.

The app is assembled from data (a route list, one middleware, a lifespan) rather than decorators,
and owns all of its state (matcher play counts, metrics) so two apps in one process never share
anything. The middleware is the one place that sees every request from start to end: it stamps
the arrival time replay is scheduled from, and writes the single log line and the request metric
once the response is finished (for a stream, after its last event or the client's hang-up).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Literal

import nim_harness
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nim_mock.cassette import Cassette
from nim_mock.faults.kinds import FaultRules
from nim_mock.faults.middleware import FaultMiddleware
from nim_mock.faults.plan import FaultPlan
from nim_mock.serve.endpoints import MockSettings, build_endpoints
from nim_mock.serve.match import Matcher
from nim_mock.serve.metrics import Metrics, WorkerLabel
from nim_mock.serve.note import RequestNote, start_note
from nim_mock.serve.replay import Clock, MonotonicClock
from nim_mock.serve.request_log import RequestEntry
from nim_mock.synth.config import SynthConfig
from nim_mock.wire.errors import ErrorLayout, Problem, check_error_layout, render_problem

__all__ = ["LOGGER_NAME", "create_app", "harness_version"]

LOGGER_NAME = "nim_mock"
ON_MISS: tuple[str, ...] = ("error", "synthesize")


def harness_version() -> str:
    """The installed nim-harness version (what ``GET /v1/version`` reports as ``release``)."""
    return nim_harness.__version__


def create_app(
    cassettes: Sequence[Cassette],
    *,
    speed: float = 0.0,
    ignore: Sequence[str] = (),
    error_layout: ErrorLayout = "nim",
    max_body_bytes: int = 8 * 1024 * 1024,
    clock: Clock | None = None,
    on_miss: Literal["error", "synthesize"] = "error",
    synth: SynthConfig | None = None,
    faults: FaultRules | None = None,
    worker: WorkerLabel | None = None,
    request_log: Callable[[RequestEntry], None] | None = None,
) -> Starlette:
    """A Starlette app replaying ``cassettes`` the way a NIM serves.

    ``speed`` scales recorded timing (0: as fast as possible, 1: real time); ``ignore`` adds body
    paths left out of matching for every cassette; ``error_layout`` picks NIM 1.x flat or vLLM >= 0.10
    nested error bodies for the errors the mock itself produces; ``max_body_bytes`` caps a request
    body. ``clock`` is the time seam for tests. ``on_miss`` decides what a chat, completions,
    embeddings or ranking request no cassette matches gets: ``"error"`` (a 404 naming the nearest
    recording) or ``"synthesize"`` (a made-up NIM answer, chat shaped by ``synth``, default rules and
    pace when ``None``; vectors and rankings by ``nim_mock.synth.embed`` and ``rank``; marked by the
    ``x-nim-mock-synthesized: 1`` header and ``synthesized`` in the log line). ``faults`` are rules
    for injected failures (``rules``); a request's ``x-nim-mock-fault`` header adds its own
    either way, and ``app.state.faults`` is the live plan (what was applied). ``worker`` says which
    of several processes sharing a port this app runs in, for the ``worker`` label of its metrics
    (each process counts only its own requests). ``request_log`` receives each finished request's
    entry (``nim_mock.serve.request_log``); without it the entry goes to the ``nim_mock`` logger
    at INFO. Bad settings raise ``ValueError`` saying what to pass.
    """
    if not math.isfinite(speed) or speed < 0:
        raise ValueError(f"speed must be a finite number >= 0 (0 = no delays, 1 = real time), got {speed!r}")
    layout = check_error_layout(error_layout)
    if max_body_bytes <= 0:
        raise ValueError(f"max_body_bytes must be a positive number of bytes, got {max_body_bytes!r}")
    if on_miss not in ON_MISS:  # callers without a type checker
        raise ValueError(f"on_miss must be 'error' or 'synthesize', got {on_miss!r}")
    if synth is not None and on_miss != "synthesize":
        raise ValueError("synth settings only apply with on_miss='synthesize'; pass both or neither")
    matcher = Matcher(cassettes, ignore=ignore)
    metrics = Metrics(worker)
    the_clock: Clock = clock or MonotonicClock()
    settings = MockSettings(
        speed=speed,
        error_layout=layout,
        max_body_bytes=max_body_bytes,
        release=harness_version(),
        created=int(time.time()),
        synth=(synth or SynthConfig()) if on_miss == "synthesize" else None,
    )
    logger = logging.getLogger(LOGGER_NAME)
    fault_plan = FaultPlan(faults)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Each time a server starts this app, replay starts from each cassette's first interaction.
        matcher.reset()
        yield

    async def http_error(request: Request, exc: Exception) -> Response:
        # Only reached for errors Starlette raises itself (the catch-all route answers 404/405).
        assert isinstance(exc, HTTPException)
        problem = Problem(exc.status_code, "BadRequestError", str(exc.detail))
        status, headers, body = render_problem(problem, layout)
        return Response(body, status_code=status, headers=dict(headers))

    async def server_error(request: Request, exc: Exception) -> Response:
        # Starlette re-raises the error once this answer is sent, and uvicorn then closes the
        # connection; saying so lets a keep-alive client open a new one instead of losing its next
        # request on this one.
        problem = Problem(
            500,
            "InternalServerError",
            f"nim-mock failed: {type(exc).__name__}: {exc}",
            headers=(("connection", "close"),),
        )
        status, headers, body = render_problem(problem, layout)
        return Response(body, status_code=status, headers=dict(headers))

    app = Starlette(
        routes=build_endpoints(cassettes, matcher, metrics, settings, the_clock),
        middleware=[
            Middleware(_Observe, metrics=metrics, clock=the_clock, logger=logger, sink=request_log),
            # Inside the observer, so every fault lands in the request's log line and metrics.
            Middleware(
                FaultMiddleware,
                plan=fault_plan,
                metrics=metrics,
                clock=the_clock,
                error_layout=layout,
                max_body_bytes=max_body_bytes,
            ),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.matcher = matcher
    app.state.metrics = metrics
    app.state.settings = settings
    app.state.faults = fault_plan
    return app


class _Observe:
    """Stamps arrival, then counts the request and hands its :class:`RequestEntry` on when done.

    The entry goes to ``sink`` if there is one, else to the ``nim_mock`` logger at INFO as the one
    argument of ``"%s"`` (its text is built only by a handler that writes it; with INFO off, the
    cost is one level check).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        clock: Clock,
        logger: logging.Logger,
        sink: Callable[[RequestEntry], None] | None,
    ) -> None:
        self._app = app
        self._metrics = metrics
        self._clock = clock
        self._logger = logger
        self._sink = sink

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        note = start_note(scope, arrived=self._clock.now())

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                note.status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, observed_send)
        finally:
            self._finish(scope, note)

    def _finish(self, scope: Scope, note: RequestNote) -> None:
        method = scope["method"]
        self._metrics.request_done(method, note.route, note.status)
        outcome = note.outcome
        if outcome.disconnected:
            self._metrics.disconnected()
        sink = self._sink
        if sink is None and not self._logger.isEnabledFor(logging.INFO):
            return
        entry = RequestEntry(
            method, scope["path"], note.status, note.answer, outcome.disconnected, outcome.sent, outcome.total
        )
        if sink is not None:
            sink(entry)
        else:
            self._logger.info("%s", entry)
