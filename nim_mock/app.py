"""``create_app``: cassettes in, a Starlette app that answers like a NIM out.

The app is assembled from data (a route list, one middleware, a lifespan) rather than decorators,
and owns all of its state (matcher play counts, metrics) so two apps in one process never share
anything. The middleware is the one place that sees every request from start to end: it stamps
the arrival time replay is scheduled from, and writes the single log line and the request metric
once the response is finished (for a stream, after its last event or the client's hang-up).
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

import nim_harness
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nim_mock.cassette import Cassette, RecordedRequest
from nim_mock.faults.kinds import FaultRules
from nim_mock.faults.middleware import FaultMiddleware, passes_through
from nim_mock.faults.plan import FaultPlan
from nim_mock.serve.endpoints import CHAT, COMPLETIONS, MockSettings, as_asgi, build_endpoints
from nim_mock.serve.match import Matcher
from nim_mock.serve.metrics import NIM1_NAMES, VLLM_NAMES, Metrics, WorkerLabel
from nim_mock.serve.note import RequestNote, note_of, start_note
from nim_mock.serve.replay import Clock, MonotonicClock
from nim_mock.serve.request_log import RequestEntry
from nim_mock.synth.config import SynthConfig
from nim_mock.wire.errors import Problem, render_problem
from nim_mock.wire.http import request_header
from nim_mock.wire.identity import Identity, check_identity, identity_for_layout

__all__ = ["LOGGER_NAME", "create_app", "harness_version"]

LOGGER_NAME = "nim_mock"
ON_MISS: tuple[str, ...] = ("error", "synthesize")


def harness_version() -> str:
    """The installed nim-harness version (``nim-mock --version``; the servers report their own)."""
    return nim_harness.__version__


def create_app(
    cassettes: Sequence[Cassette],
    *,
    speed: float = 0.0,
    ignore: Sequence[str] = (),
    identity: str | None = None,
    error_layout: str | None = None,
    max_body_bytes: int = 8 * 1024 * 1024,
    clock: Clock | None = None,
    on_miss: Literal["error", "synthesize"] = "error",
    synth: SynthConfig | None = None,
    faults: FaultRules | None = None,
    worker: WorkerLabel | None = None,
    request_log: Callable[[RequestEntry], None] | None = None,
    repeats: bool = True,
    match_on: Sequence[Callable[[RecordedRequest, RecordedRequest], bool]] = (),
    stream_in_one_write: bool = False,
) -> Starlette:
    """A Starlette app replaying ``cassettes`` the way a NIM serves.

    ``speed`` scales recorded timing (0: as fast as possible, 1: real time); ``ignore`` adds body
    paths left out of matching for every cassette; ``identity`` (``nim1``, the default, ``nim2`` or
    ``hosted``; ``nim_mock.wire.identity``) is the server the mock answers as wherever it builds an
    answer itself: headers, state endpoints, listing, errors, validation and synthesized bodies.
    ``error_layout`` is its deprecated predecessor: ``"nim"`` means ``nim1`` and ``"vllm"`` ``nim2``.
    ``max_body_bytes`` caps a request body. ``clock`` is the time seam for tests. ``on_miss`` decides
    what a chat, completions, embeddings or ranking request no cassette matches gets: ``"error"`` (a
    404 naming the nearest recording) or ``"synthesize"`` (a made-up NIM answer, chat shaped by
    ``synth``, default rules and pace when ``None``; vectors and rankings by ``nim_mock.synth.embed``
    and ``rank``; marked by the ``x-nim-mock-synthesized: 1`` header and ``synthesized`` in the log
    line). ``faults`` are rules for injected failures (``rules``); a request's ``x-nim-mock-fault``
    header adds its own either way, and ``app.state.faults`` is the live plan (what was applied).
    ``worker`` says which of several processes sharing a port this app runs in, for the ``worker``
    label of its metrics (each process counts only its own requests). ``request_log`` receives each
    finished request's entry (``nim_mock.serve.request_log``); without it the entry goes to the
    ``nim_mock`` logger at INFO. ``repeats=False`` answers each recorded interaction once and
    ``match_on`` adds matchers an interaction must also satisfy (``serve.match``).
    ``stream_in_one_write`` sends a stream's events in one write at speed 0 (the same bytes; for
    a client in this process, which otherwise takes turns with the server once per event). Bad settings
    raise ``ValueError`` saying what to pass.
    """
    if not math.isfinite(speed) or speed < 0:
        raise ValueError(f"speed must be a finite number >= 0 (0 = no delays, 1 = real time), got {speed!r}")
    the_identity = _identity(identity, error_layout)
    layout = the_identity.error_layout
    if max_body_bytes <= 0:
        raise ValueError(f"max_body_bytes must be a positive number of bytes, got {max_body_bytes!r}")
    if on_miss not in ON_MISS:  # callers without a type checker
        raise ValueError(f"on_miss must be 'error' or 'synthesize', got {on_miss!r}")
    if synth is not None and on_miss != "synthesize":
        raise ValueError("synth settings only apply with on_miss='synthesize'; pass both or neither")
    matcher = Matcher(cassettes, ignore=ignore, repeats=repeats, match_on=match_on)
    engine = {"nim1": NIM1_NAMES, "nim2": VLLM_NAMES}.get(the_identity.name)
    served = (synth or SynthConfig()).models if on_miss == "synthesize" else ()
    metrics = Metrics(worker, engine, served)
    the_clock: Clock = clock or MonotonicClock()
    settings = MockSettings(
        speed=speed,
        error_layout=layout,
        max_body_bytes=max_body_bytes,
        created=int(time.time()),
        synth=(synth or SynthConfig()) if on_miss == "synthesize" else None,
        identity=the_identity,
        stream_in_one_write=stream_in_one_write,
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

    endpoints = build_endpoints(cassettes, matcher, metrics, settings, the_clock)
    observer = _Observer(metrics=metrics, clock=the_clock, logger=logger, sink=request_log)
    app = _MockApp(
        direct={key: as_asgi(handler) for key, handler in endpoints.exact.items()},
        observer=observer,
        faults=fault_plan,
        routes=endpoints.routes,
        middleware=[
            Middleware(_Observed, observer=observer),
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
    app.state.identity = the_identity
    return app


def _identity(identity: str | None, error_layout: str | None) -> Identity:
    """The identity asked for; the deprecated ``error_layout`` names one too, and must not contradict it."""
    chosen = check_identity(identity) if identity is not None else None
    implied = identity_for_layout(error_layout) if error_layout is not None else None
    if chosen is not None and implied is not None and chosen.error_layout != implied.error_layout:
        raise ValueError(
            f"error_layout {error_layout!r} contradicts identity {identity!r}; pass the identity alone "
            "(error_layout is deprecated: nim means nim1, vllm means nim2)"
        )
    return chosen or implied or check_identity("nim1")


_INFERENCE = frozenset((CHAT, COMPLETIONS))


class _MockApp(Starlette):
    """Starlette, with a direct lane for the requests that need none of its machinery.

    Nearly every request a client or a load test sends is to a built-in route (chat, completions,
    embeddings, ranking, models, health) with no fault to inject. Through Starlette such a request
    passes two middlewares, the router's patterns, a route and a request wrapper, and each message
    it sends passes three wrappers: under wrk that came to more server time than the answer itself.
    Those requests go straight to their endpoint, observed like every other (log line, metrics);
    anything else (templated or recorded routes, a fault header or rules, the lifespan) takes the
    Starlette stack, which answers the same. A failure before the response starts is answered by
    the app's 500 handler and raised again, as Starlette's outermost middleware does. Middleware a
    caller adds (``add_middleware``) must see every request, so adding any closes the lane.
    """

    def __init__(
        self,
        *,
        direct: Mapping[tuple[str, str], ASGIApp],
        observer: _Observer,
        faults: FaultPlan,
        **starlette: Any,
    ) -> None:
        super().__init__(**starlette)
        self._direct = direct
        self._observer = observer
        self._faults = faults

    def add_middleware(self, middleware_class: Any, *args: Any, **kwargs: Any) -> None:
        self._direct = {}
        super().add_middleware(middleware_class, *args, **kwargs)

    def _error_handler(self) -> Callable[[Request, Exception], Any] | None:
        """The handler Starlette's outermost middleware would use: the last one for 500 or ``Exception``."""
        chosen = None
        for key, handler in self.exception_handlers.items():
            if key in (500, Exception):
                chosen = handler
        return chosen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = self._direct.get((scope["method"], scope["path"]))
            if endpoint is not None and passes_through(self._faults, scope):
                scope["app"] = self
                try:
                    await self._observer.observe(scope, receive, send, endpoint)
                except Exception as error:
                    handler = self._error_handler()
                    if handler is not None and not note_of(scope).responded:
                        response = handler(Request(scope, receive), error)
                        if inspect.isawaitable(response):  # Starlette takes plain functions too
                            response = await response
                        await response(scope, receive, send)
                    raise
                return
        await super().__call__(scope, receive, send)


class _Observed:
    """The observer as Starlette middleware, for the requests that take the Starlette stack."""

    def __init__(self, app: ASGIApp, *, observer: _Observer) -> None:
        self._app = app
        self._observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        await self._observer.observe(scope, receive, send, self._app)


class _Observer:
    """Stamps arrival, then counts the request and hands its :class:`RequestEntry` on when done.

    The entry goes to ``sink`` if there is one, else to the ``nim_mock`` logger at INFO as the one
    argument of ``"%s"`` (its text is built only by a handler that writes it; with INFO off, the
    cost is one level check).
    """

    def __init__(
        self,
        *,
        metrics: Metrics,
        clock: Clock,
        logger: logging.Logger,
        sink: Callable[[RequestEntry], None] | None,
    ) -> None:
        self._metrics = metrics
        self._clock = clock
        self._logger = logger
        self._sink = sink

    async def observe(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        """Run the HTTP request ``scope`` through ``app``, observed."""
        clock = self._clock
        note = start_note(scope, arrived=clock.now())
        inference = scope["path"] in _INFERENCE
        sent = 0

        async def observed_send(message: Message) -> None:
            nonlocal sent
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            elif message["type"] == "http.response.start":
                note.status = message["status"]
                note.responded = True
                note.first_byte = clock.now()
            await send(message)

        if inference:
            self._metrics.request_started()
        try:
            await app(scope, receive, observed_send)
        finally:
            if inference:
                self._metrics.request_finished()
            self._finish(scope, note, sent)

    def _finish(self, scope: Scope, note: RequestNote, sent: int) -> None:
        method = scope["method"]
        status = note.status
        took = max(self._clock.now() - note.arrived, 0.0)  # the request's whole time, for both metrics
        self._metrics.request_done(
            method,
            note.route,
            status,
            request_bytes=_declared_length(scope),
            response_bytes=sent,
            seconds=took,
            answer=note.usage if status == 200 else None,
            first_token_s=max(note.first_byte - note.arrived, 0.0),
        )
        outcome = note.outcome
        if outcome.disconnected:
            self._metrics.disconnected()
        sink = self._sink
        if sink is None and not self._logger.isEnabledFor(logging.INFO):
            return
        entry = RequestEntry(
            method, scope["path"], status, note.answer, outcome.disconnected, outcome.sent, outcome.total
        )
        if sink is not None:
            sink(entry)
        else:
            self._logger.info("%s", entry)


def _declared_length(scope: Scope) -> int:
    """The request's ``content-length`` (what vLLM's request-size metric counts), 0 when absent."""
    declared = request_header(scope, b"content-length") or ""
    return int(declared) if declared.isascii() and declared.isdigit() else 0
