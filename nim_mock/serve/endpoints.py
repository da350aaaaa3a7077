"""The mock NIM's endpoints: plain ``async def`` functions bound to one app's state.

Each endpoint does the same three things: check the request the way a NIM would (``inbound``),
ask the matcher which recorded interaction answers, and hand the bytes to ``replay``. What is not
conversation but server state (health, version, the model listing) is answered from a cassette
when one recorded it, and otherwise exactly as a NIM 1.x container answers, so a client's
start-up probes work against any cassette folder.

Endpoints fill in the request's note (``note``: which cassette answered, or why none did) for the
request log line and the metrics, which ``app``'s middleware writes once the response is done.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nim_mock.cassette import Cassette, RecordedRequest, RecordedResponse, compact_json
from nim_mock.serve.inbound import (
    BodyTooLarge,
    check_chat_shape,
    check_content_length,
    check_content_type,
    check_object,
    parse_json,
    read_body,
    too_large,
)
from nim_mock.serve.match import Hit, Matcher
from nim_mock.serve.metrics import METRICS_CONTENT_TYPE, Metrics
from nim_mock.serve.models import build_model_list, merge_listing
from nim_mock.serve.note import RequestNote, note_of
from nim_mock.serve.replay import Clock, ReplayResponse, wire_headers
from nim_mock.synth.synthesize import SynthConfig, synthesize
from nim_mock.wire.errors import ErrorLayout, Problem, render_problem
from nim_mock.wire.http import JSON_CONTENT_TYPE, MISS_HEADER

__all__ = ["MockSettings", "build_endpoints"]

_JSON_HEADERS = (("content-type", JSON_CONTENT_TYPE),)
_HEALTH_HEADERS = (("system-health", "True"), *_JSON_HEADERS)

_ANY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_BODY_KEY = "nim_mock.body"
"""Where ``_read_json`` leaves the body's bytes in the scope, for the matcher's memo (``match``)."""

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
MODELS = "/v1/models"
HEALTH_READY = "/v1/health/ready"
HEALTH_LIVE = "/v1/health/live"
VERSION = "/v1/version"
METRICS = "/v1/metrics"


@dataclass(frozen=True, slots=True)
class MockSettings:
    """How one app behaves; checked by ``create_app`` before anything is built."""

    speed: float
    error_layout: ErrorLayout
    max_body_bytes: int
    release: str
    created: int
    synth: SynthConfig | None = None
    """Set when the server answers a miss by synthesizing (``on_miss="synthesize"``) rather than a 404."""


class _Endpoints:
    def __init__(
        self,
        cassettes: Sequence[Cassette],
        matcher: Matcher,
        metrics: Metrics,
        settings: MockSettings,
        clock: Clock,
    ) -> None:
        self._matcher = matcher
        self._metrics = metrics
        self._settings = settings
        self._clock = clock
        models: dict[str, None] = {}
        recorded: dict[str, dict[str, None]] = {}
        for cassette in cassettes:
            for model in cassette.models:
                models.setdefault(model)
            for interaction in cassette.interactions:
                path = interaction.request.path.split("?", 1)[0]
                recorded.setdefault(path, {}).setdefault(interaction.request.method.upper())
        if settings.synth is not None:  # a stand-in also lists the catalogue's real model ids
            for model in settings.synth.models:
                models.setdefault(model)
        self._models = tuple(models)
        # Wire headers of every recorded response, computed once, keyed by identity (the response
        # is kept alongside, so an id is never confused with a later object's).
        self._wire_headers = {
            id(i.response): (i.response, wire_headers(i.response)) for c in cassettes for i in c.interactions
        }
        self._recorded = {path: tuple(methods) for path, methods in recorded.items()}
        self._builtin: dict[str, tuple[str, ...]] = {
            CHAT: ("POST",),
            COMPLETIONS: ("POST",),
            MODELS: ("GET",),
            HEALTH_READY: ("GET",),
            HEALTH_LIVE: ("GET",),
            VERSION: ("GET",),
            METRICS: ("GET",),
        }

    def routes(self) -> list[BaseRoute]:
        return [
            Route(CHAT, self.chat, methods=["POST"]),
            Route(COMPLETIONS, self.completions, methods=["POST"]),
            Route(MODELS, self.models, methods=["GET"]),
            Route(HEALTH_READY, self.health_ready, methods=["GET"]),
            Route(HEALTH_LIVE, self.health_live, methods=["GET"]),
            Route(VERSION, self.version, methods=["GET"]),
            Route(METRICS, self.metrics, methods=["GET"]),
            # Last: anything else is either recorded (replayed), a known path with the wrong
            # method (405) or unknown (404). Starlette prefers full matches, so this route also
            # receives e.g. GET /v1/chat/completions and answers it with 405.
            Route("/{path:path}", self.other, methods=list(_ANY_METHOD)),
        ]

    # -- inference --------------------------------------------------------------------------

    async def chat(self, request: Request) -> Response:
        return await self._inference(request, CHAT, chat=True)

    async def completions(self, request: Request) -> Response:
        return await self._inference(request, COMPLETIONS, chat=False)

    async def _inference(self, request: Request, route: str, *, chat: bool) -> Response:
        note = note_of(request.scope)
        note.route = route
        body, problem = await self._read_json(request)
        if problem is None and chat:
            problem = check_chat_shape(body)
        if problem is not None:
            return self._problem(note, problem)
        source = request.scope.get(_BODY_KEY)
        return self._replay_or_miss(note, _recorded_request(request, body=body), source=source)

    async def _read_json(self, request: Request) -> tuple[dict[str, Any], Problem | None]:
        """Size, content type, JSON syntax, object shape: NIM's order of refusals."""
        limit = self._settings.max_body_bytes
        headers = _headers(request)
        problem = check_content_length(headers, limit) or check_content_type(
            headers.get("content-type"), self._settings.error_layout
        )
        if problem is not None:
            return {}, problem
        try:
            raw = await read_body(request.receive, limit)
        except BodyTooLarge:
            return {}, too_large(limit)
        request.scope[_BODY_KEY] = raw
        body, problem = parse_json(raw)
        problem = problem or check_object(body)
        return (body if problem is None else {}), problem

    # -- server state ----------------------------------------------------------------------

    async def models(self, request: Request) -> Response:
        note, hit = self._recording_for(request, MODELS)
        if hit is not None:
            merged = merge_listing(hit.interaction.response, self._models)
            return self._respond(note, merged)
        note.answer = "built from the cassettes' models"
        listing = build_model_list(self._models, self._settings.created)
        return self._respond(note, RecordedResponse(200, _JSON_HEADERS, compact_json(listing)))

    async def health_ready(self, request: Request) -> Response:
        return self._state(
            request, HEALTH_READY, {"object": "health.response", "message": "Service is ready."}
        )

    async def health_live(self, request: Request) -> Response:
        return self._state(request, HEALTH_LIVE, {"object": "health.response", "message": "Service is live."})

    async def version(self, request: Request) -> Response:
        return self._state(request, VERSION, {"release": self._settings.release, "api": "1.0.0"})

    def _state(self, request: Request, route: str, default: dict[str, str]) -> Response:
        note, hit = self._recording_for(request, route)
        if hit is not None:
            return self._respond(note, hit.interaction.response)
        note.answer = "NIM default"
        headers = _HEALTH_HEADERS if route.startswith("/v1/health/") else _JSON_HEADERS
        return self._respond(note, RecordedResponse(200, headers, compact_json(default)))

    def _recording_for(self, request: Request, route: str) -> tuple[RequestNote, Hit | None]:
        """The request's note, routed, and the recording that answers it, if any. A miss here is no
        error (the mock builds the answer), so its report is never read and never built."""
        note = note_of(request.scope)
        note.route = route
        result = self._matcher.match(_recorded_request(request))
        if isinstance(result, Hit):
            self._hit(note, result)
            return note, result
        return note, None

    async def metrics(self, request: Request) -> Response:
        note = note_of(request.scope)
        note.route = METRICS
        note.answer = "mock metrics"
        text = self._metrics.render().encode("utf-8")
        return self._respond(note, RecordedResponse(200, (("content-type", METRICS_CONTENT_TYPE),), text))

    # -- everything else -------------------------------------------------------------------

    async def other(self, request: Request) -> Response:
        note = note_of(request.scope)
        path: str = request.scope["path"]
        method = request.method.upper()
        recorded = self._recorded.get(path, ())
        if method in recorded:
            note.route = path
            return await self._replay_recorded_route(request, note)
        allowed = tuple(dict.fromkeys((*self._builtin.get(path, ()), *recorded)))
        if allowed:
            note.route = path
            allow = ", ".join(allowed)
            return self._problem(
                note,
                Problem(
                    405,
                    "Method Not Allowed",
                    f"Method {method} is not allowed on {path}; use {allow}.",
                    headers=(("allow", allow),),
                ),
            )
        note.route = "unknown"
        return self._problem(note, Problem(404, "NotFoundError", self._unknown_route_message(method, path)))

    async def _replay_recorded_route(self, request: Request, note: RequestNote) -> Response:
        limit = self._settings.max_body_bytes
        problem = check_content_length(_headers(request), limit)
        if problem is not None:
            return self._problem(note, problem)
        try:
            raw = await read_body(request.receive, limit)
        except BodyTooLarge:
            return self._problem(note, too_large(limit))
        if not raw:
            return self._replay_or_miss(note, _recorded_request(request))
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return self._replay_or_miss(note, _recorded_request(request, raw_body=raw))
        return self._replay_or_miss(note, _recorded_request(request, body=body))

    def _unknown_route_message(self, method: str, path: str) -> str:
        extra = sorted(set(self._recorded) - set(self._builtin))
        recorded = f"; recorded by the cassettes: {', '.join(extra[:10])}" if extra else ""
        return (
            f"Route {method} {path} does not exist on this mock NIM. It serves {', '.join(self._builtin)}"
            f"{recorded}."
        )

    # -- answering -------------------------------------------------------------------------

    def _replay_or_miss(
        self, note: RequestNote, recorded: RecordedRequest, *, source: bytes | None = None
    ) -> Response:
        result = self._matcher.match(recorded, source=source)
        if isinstance(result, Hit):
            self._hit(note, result)
            return self._respond(note, result.interaction.response)
        self._metrics.unmatched()
        synthesized = self._synthesize(note, recorded)
        if synthesized is not None:
            return synthesized
        note.answer = ("miss: " + result.message.splitlines()[0]) if result.message else "miss"
        problem = Problem(404, "NotFoundError", result.message, headers=((MISS_HEADER, "1"),))
        return self._problem(note, problem, as_refusal=False)

    def _synthesize(self, note: RequestNote, recorded: RecordedRequest) -> Response | None:
        """A made-up NIM answer for a chat/completions miss, when the app synthesizes; else ``None``."""
        synth = self._settings.synth
        if synth is None or note.route not in (CHAT, COMPLETIONS) or not isinstance(recorded.body, dict):
            return None
        answer = synthesize(note.route, recorded.body, synth, chat=note.route == CHAT)
        if isinstance(answer, Problem):
            return self._problem(note, answer)
        note.answer = "synthesized"
        return self._respond(note, answer)

    def _hit(self, note: RequestNote, hit: Hit) -> None:
        self._metrics.matched()
        note.answer = f"{hit.cassette.name}#{hit.index + 1}"

    def _problem(self, note: RequestNote, problem: Problem, *, as_refusal: bool = True) -> Response:
        status, headers, body = render_problem(problem, self._settings.error_layout)
        if as_refusal:
            note.answer = f"refused: {problem.message.splitlines()[0]}"
        return self._respond(note, RecordedResponse(status, tuple(headers), body), speed=0.0)

    def _respond(
        self, note: RequestNote, response: RecordedResponse, *, speed: float | None = None
    ) -> Response:
        cached = self._wire_headers.get(id(response))
        return ReplayResponse(
            response,
            headers=cached[1] if cached is not None and cached[0] is response else None,
            start=note.arrived,
            speed=self._settings.speed if speed is None else speed,
            clock=self._clock,
            on_lag=self._metrics.observe_lag,
            outcome=note.outcome,
        )


def build_endpoints(
    cassettes: Sequence[Cassette], matcher: Matcher, metrics: Metrics, settings: MockSettings, clock: Clock
) -> list[BaseRoute]:
    """The app's routes, as data, bound to this app's matcher, metrics and settings."""
    return _Endpoints(cassettes, matcher, metrics, settings, clock).routes()


def _recorded_request(
    request: Request, *, body: Any = None, raw_body: bytes | None = None
) -> RecordedRequest:
    """The request in the matcher's terms: method, path with query, body. No headers: nothing that
    answers (matching, synthesis) reads them, and copying them cost every request a dict."""
    path: str = request.scope["path"]
    query = request.scope.get("query_string", b"").decode("latin-1")
    return RecordedRequest(
        method=request.method.upper(),
        path=f"{path}?{query}" if query else path,
        body=body,
        raw_body=raw_body,
    )


def _headers(request: Request) -> dict[str, str]:
    """The request headers as a plain dict (last value wins), read straight from the ASGI scope.

    Cheaper than Starlette's ``Headers`` on the hot path, and computed once per request.
    """
    cached = request.scope.get("nim_mock.headers")
    if cached is None:
        cached = request.scope["nim_mock.headers"] = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in request.scope["headers"]
        }
    headers: dict[str, str] = cached
    return headers
