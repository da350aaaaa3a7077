"""The mock NIM's endpoints: plain ``async def`` functions bound to one app's state.

Each endpoint does the same three things: ask the matcher which recorded interaction answers, and
only when none does check the request the way a NIM would (``inbound``), then hand the bytes to
``replay``. Matching comes first so that a recording wins whatever was recorded: a real server's
422 for broken JSON or 500 for a missing field replays like any answer. What is not conversation
but server state (health, version, the model listing, metrics) is answered from a cassette when
one recorded it, and otherwise as the server the app's identity names answers
(``nim_mock.wire.identity``; ``nim_mock.serve.state``), so a client's start-up probes work against
any cassette folder. Every answer the mock builds itself carries that server's headers.

Work that grows with the request (synthesizing an answer, building a miss report, reading a body
over :data:`_INLINE_BODY_BYTES`) runs in a worker thread, so one heavy request never holds up the
event loop: health checks and other streams keep their pace while it runs.

Endpoints fill in the request's note (``note``: which cassette answered, or why none did) for the
request log line and the metrics, which ``app``'s middleware writes once the response is done.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, request_response
from starlette.types import ASGIApp, Receive, Scope, Send

from nim_mock.cassette import Cassette, Interaction, RecordedRequest, RecordedResponse, compact_json
from nim_mock.serve.inbound import (
    BodyTooLarge,
    check_assistant_turns,
    check_chat_shape,
    check_content_length,
    check_content_type,
    check_json,
    check_object,
    matchable_body,
    read_body,
    too_large,
    vllm_json,
)
from nim_mock.serve.match import Hit, Matcher, Miss
from nim_mock.serve.metrics import Metrics
from nim_mock.serve.models import build_model_list, merge_listing
from nim_mock.serve.note import RequestNote, Usage, note_of
from nim_mock.serve.replay import Clock, ReplayResponse, wire_headers
from nim_mock.serve.retrieval import RETRIEVAL_ROUTES, synthesize_retrieval
from nim_mock.serve.state import StateAnswer, state_routes
from nim_mock.serve.usage import usage_of
from nim_mock.synth.config import SynthConfig
from nim_mock.wire.errors import ErrorLayout, Problem, render_problem
from nim_mock.wire.http import JSON_CONTENT_TYPE, MISS_HEADER, media_type, path_with_query, request_header
from nim_mock.wire.identity import NIM1, Identity, response_headers

__all__ = ["Endpoints", "Handler", "MockSettings", "as_asgi", "build_endpoints"]

_JSON_HEADERS = (("content-type", JSON_CONTENT_TYPE),)

_INLINE_BODY_BYTES: Final = 256 * 1024
"""Bodies up to this size are parsed and matched on the event loop (microseconds); larger ones in
a worker thread (an 8 MB body takes the JSON parser and the canonical renderer ~0.1 s)."""

_T = TypeVar("_T")
Handler = Callable[[Request], Awaitable[Response]]
"""An endpoint: the request in, the response to send out."""
_DEFAULT_SYNTH: Final = SynthConfig()

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
MODELS = "/v1/models"


@dataclass(frozen=True, slots=True)
class MockSettings:
    """How one app behaves; checked by ``create_app`` before anything is built."""

    speed: float
    error_layout: ErrorLayout
    max_body_bytes: int
    created: int
    synth: SynthConfig | None = None
    """Set when the server answers a miss by synthesizing (``on_miss="synthesize"``) rather than a 404."""
    identity: Identity = NIM1
    """The server the mock answers as: its headers, state endpoints, listing, errors and bodies."""
    stream_in_one_write: bool = False
    """At speed 0, send a stream's events as one body message rather than one message each."""


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
            for interaction in cassette.interactions:
                if _names_a_served_model(interaction):
                    models.setdefault(str(interaction.request.model))
                path = interaction.request.path.split("?", 1)[0]
                recorded.setdefault(path, {}).setdefault(interaction.request.method.upper())
        self._synth = settings.synth
        if settings.synth is not None:  # a stand-in also lists (and serves) the models it stands in for
            for model in settings.synth.models:
                models.setdefault(model)
            served = dict.fromkeys((*settings.synth.models, *models))
            self._synth = dataclasses.replace(settings.synth, models=tuple(served))
        self._models = tuple(models)
        self._identity = settings.identity
        self._state: dict[str, StateAnswer] = state_routes(settings.identity, metrics)
        # Wire headers of every recorded response, computed once, keyed by identity (the response
        # is kept alongside, so an id is never confused with a later object's).
        self._wire_headers = {
            id(i.response): (i.response, wire_headers(i.response)) for c in cassettes for i in c.interactions
        }
        self._recorded = {path: tuple(methods) for path, methods in recorded.items()}
        self._usages: dict[int, tuple[RecordedResponse, Usage | None]] = {}
        self._builtin: dict[str, tuple[str, ...]] = {
            CHAT: ("POST",),
            COMPLETIONS: ("POST",),
            MODELS: ("GET",),
            **dict.fromkeys(self._state, ("GET",)),
            **dict.fromkeys(RETRIEVAL_ROUTES, ("POST",)),
        }

    def routes(self) -> Endpoints:
        """A catch-all route that looks the built-in routes up by method and path, after the templated ones.

        A Starlette ``Route`` per endpoint would cost every app a compiled pattern each (a fresh app
        per plugin test) and every request a scan of the patterns; most built-in paths have no
        parameters, so a dict lookup answers the same question. Anything it does not hold is either
        recorded (replayed), a known path with the wrong method (405) or unknown (404): ``other``.
        As an ASGI app rather than a function the route takes every method, so a recording of any
        method replays. The lookup table comes back too, for a caller that dispatches the built-in
        routes itself (the app's direct lane); a templated path never matches one of its paths.
        """
        post = ("POST",)
        get = ("GET", "HEAD")  # as Starlette's Route does for GET
        exact: dict[tuple[str, str], Handler] = {}
        templated: list[BaseRoute] = []  # the few routes with path parameters stay Starlette's
        for path, methods, handler in (
            (CHAT, post, self._inference(CHAT, chat=True)),
            (COMPLETIONS, post, self._inference(COMPLETIONS, chat=False)),
            (MODELS, get, self.models),
            *((path, get, self.state) for path in self._state),
            *((route, post, self._inference(route, chat=False)) for route in RETRIEVAL_ROUTES),
        ):
            if "{" in path:
                templated.append(Route(path, handler, methods=list(methods)))
            else:
                exact.update(dict.fromkeys(((method, path) for method in methods), handler))
        other = self.other

        async def dispatch(request: Request) -> Response:
            scope = request.scope
            return await exact.get((scope["method"], scope["path"]), other)(request)

        return Endpoints([*templated, Route("/{path:path}", _EveryMethod(request_response(dispatch)))], exact)

    # -- inference --------------------------------------------------------------------------

    def _inference(self, route: str, *, chat: bool) -> Handler:
        """The endpoint of one inference route (chat, completions, embeddings, ranking); ``chat``:
        a miss is checked as a chat request."""

        async def inference(request: Request) -> Response:
            note = note_of(request.scope)
            note.route = route
            return await self._answer(request, note, lambda raw: self._checked(request, raw, chat=chat))

        return inference

    async def _answer(
        self,
        request: Request,
        note: RequestNote,
        check: Callable[[bytes], tuple[dict[str, Any], Problem | None]] | None,
    ) -> Response:
        """Read, match, and on a miss ``check`` the body (when given) before the miss is answered.

        A recording answers even a request the mock would refuse, since it is the better witness of
        what the server says; matching ignores headers, so when the media types differ the recording
        wins only if the request passes the checks (the refusal may be about the content type)."""
        raw, problem = await self._read_raw(request)
        if problem is not None:
            return self._problem(note, problem)
        result = await self._match(request, raw)
        if isinstance(result, Hit) and (check is None or self._same_media_type(request, result)):
            return self._replay(note, result)
        body: dict[str, Any] | None = None
        if check is not None:
            body, problem = await self._off_loop(lambda: check(raw), len(raw))
            if problem is not None:
                return self._problem(note, problem)
        if isinstance(result, Hit):
            return self._replay(note, result)
        return await self._miss(note, result, body)

    @staticmethod
    def _same_media_type(request: Request, hit: Hit) -> bool:
        sent = request_header(request.scope, b"content-type")
        recorded = hit.interaction.request.headers.get("content-type")
        return sent == recorded or media_type(sent) == media_type(recorded)

    async def _read_raw(self, request: Request) -> tuple[bytes, Problem | None]:
        """The body, unless its size is over the limit (declared up front or found while reading)."""
        limit = self._settings.max_body_bytes
        problem = check_content_length(request_header(request.scope, b"content-length"), limit)
        if problem is not None:
            return b"", problem
        try:
            return await read_body(request.receive, limit), None
        except BodyTooLarge:
            return b"", too_large(limit)

    def _checked(self, request: Request, raw: bytes, *, chat: bool) -> tuple[dict[str, Any], Problem | None]:
        """Content type, JSON, object shape, ``messages``: NIM's order of refusals, for a miss.

        A ``nim2`` server words the JSON refusals as vLLM does and leaves the fields to the stand-in's
        vLLM check (``nim_mock.synth.vllm_request``), which reads them in vLLM's order."""
        sent = request_header(request.scope, b"content-type")
        problem = check_content_type(sent, self._settings.error_layout)
        if problem is not None:
            return {}, problem
        if self._identity.name == "nim2":
            value, problem = vllm_json(raw)
            return (value if problem is None else {}), problem
        body, problem = check_json(raw)
        problem = problem or check_object(body)
        if problem is None and chat:
            problem = check_chat_shape(body)
        if problem is None and chat and self._identity.name == "hosted":
            problem = check_assistant_turns(body)
        return (body if problem is None else {}), problem

    # -- server state ----------------------------------------------------------------------

    async def models(self, request: Request) -> Response:
        note, hit = await self._recording_for(request, MODELS)
        if hit is not None:
            merged = merge_listing(hit.interaction.response, self._models)
            return self._respond(note, merged)
        note.answer = "built from the served models"
        listing = build_model_list(
            self._models, self._settings.created, self._identity, self._max_model_len()
        )
        return self._respond(note, self._built(200, _JSON_HEADERS, compact_json(listing)))

    def _max_model_len(self) -> int:
        return (self._synth or _DEFAULT_SYNTH).max_model_len

    async def state(self, request: Request) -> Response:
        """Health, version and metrics: a recording when one answers, else the identity's own answer."""
        route: str = request.scope["path"]
        note, hit = await self._recording_for(request, route)
        if hit is not None:
            return self._respond(note, hit.interaction.response)
        answer = self._state[route]
        note.answer = f"{self._identity.name} {answer.what}"
        status, headers, body = answer.build()
        return self._respond(note, self._built(status, headers, body))

    def _built(self, status: int, headers: tuple[tuple[str, str], ...], body: bytes) -> RecordedResponse:
        """An answer the mock builds itself, with the headers its identity's server sends."""
        return RecordedResponse(status, (*response_headers(self._identity, status), *headers), body)

    async def _recording_for(self, request: Request, route: str) -> tuple[RequestNote, Hit | None]:
        """The request's note, routed, and the recording that answers it, if any. A miss here is no
        error (the mock builds the answer), so its report is never read and never built."""
        note = note_of(request.scope)
        note.route = route
        raw, problem = await self._read_raw(request)
        result = await self._match(request, raw) if problem is None else None
        if isinstance(result, Hit):
            self._hit(note, result)
            return note, result
        return note, None

    # -- everything else -------------------------------------------------------------------

    async def other(self, request: Request) -> Response:
        note = note_of(request.scope)
        path: str = request.scope["path"]
        method = request.method.upper()
        recorded = self._recorded.get(path, ())
        if method in recorded:
            note.route = path
            return await self._answer(request, note, None)
        allowed = tuple(dict.fromkeys((*self._builtin.get(path, ()), *recorded)))
        framework = self._framework_answer(note, path, method, allowed)
        if framework is not None:
            return framework
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

    def _framework_answer(
        self, note: RequestNote, path: str, method: str, allowed: tuple[str, ...]
    ) -> Response | None:
        """What a ``nim2`` (FastAPI) or ``hosted`` server answers for a route it lacks or a wrong method:
        FastAPI's ``{"detail": "Not Found"}`` / ``{"detail": "Method Not Allowed"}``, the gateway's
        plain-text 404. ``None`` for ``nim1``, which keeps the mock's message naming the routes."""
        name = self._identity.name
        if name == "nim1" or (name == "hosted" and allowed):
            return None
        note.route = path if allowed else "unknown"
        note.answer = f"refused: {method} {path}" + (" (method)" if allowed else " (no such route)")
        if name == "hosted":
            plain = (("content-type", "text/plain; charset=utf-8"),)
            return self._respond(note, self._built(404, plain, b"404 page not found\n"), speed=0.0)
        if allowed:
            headers = (("allow", ", ".join(allowed)), *_JSON_HEADERS)
            return self._respond(
                note, self._built(405, headers, b'{"detail":"Method Not Allowed"}'), speed=0.0
            )
        return self._respond(note, self._built(404, _JSON_HEADERS, b'{"detail":"Not Found"}'), speed=0.0)

    def _unknown_route_message(self, method: str, path: str) -> str:
        extra = sorted(set(self._recorded) - set(self._builtin))
        recorded = f"; recorded by the cassettes: {', '.join(extra[:10])}" if extra else ""
        return (
            f"Route {method} {path} does not exist on this mock NIM. It serves {', '.join(self._builtin)}"
            f"{recorded}."
        )

    # -- answering -------------------------------------------------------------------------

    async def _match(self, request: Request, raw: bytes) -> Hit | Miss:
        method: str = request.scope["method"]
        path = path_with_query(request.scope)

        def match() -> Hit | Miss:
            # The body is read from ``raw`` alone, so the matcher may remember its answer by those
            # bytes, and then needs no parsed request at all.
            return self._matcher.match_lazily(
                method, path, lambda: _recorded_request(method, path, raw), source=raw
            )

        return await self._off_loop(match, len(raw))

    async def _off_loop(self, work: Callable[[], _T], size: int) -> _T:
        """``work()``, in a worker thread when ``size`` (its input's bytes) makes it slow."""
        if size <= _INLINE_BODY_BYTES:
            return work()
        return await to_thread.run_sync(work)

    def _replay(self, note: RequestNote, hit: Hit) -> Response:
        self._hit(note, hit)
        response = hit.interaction.response
        if note.route in (CHAT, COMPLETIONS):
            note.usage = self._usage(response)
        return self._respond(note, response)

    def _usage(self, response: RecordedResponse) -> Usage | None:
        """The answer's usage for the engine metrics, read once per recorded answer."""
        key = id(response)
        cached = self._usages.get(key)
        if cached is not None and cached[0] is response:
            return cached[1]
        usage = usage_of(response)
        self._usages[key] = (response, usage)
        return usage

    async def _miss(self, note: RequestNote, miss: Miss, body: dict[str, Any] | None) -> Response:
        """A synthesized answer when the app synthesizes and ``body`` is a checked chat/completions
        request, or an embeddings/ranking one; otherwise the 404 whose message says what the nearest
        recording differs in."""
        self._metrics.unmatched()
        synth = self._synth
        route = note.route
        answer: RecordedResponse | Problem | None = None
        if synth is not None and body is not None and route in (CHAT, COMPLETIONS):
            # The answer engine loads with the first miss it answers: a replaying server never needs it.
            from nim_mock.synth.synthesize import synthesize

            identity = self._identity
            answer = await to_thread.run_sync(
                lambda: synthesize(body, synth, chat=route == CHAT, identity=identity)
            )
        elif synth is not None and body is not None and route in RETRIEVAL_ROUTES:
            answer = await to_thread.run_sync(lambda: synthesize_retrieval(route, body))
        if answer is not None:
            if isinstance(answer, Problem):
                return self._problem(note, answer)
            note.answer = "synthesized"
            note.usage = usage_of(answer)
            return self._respond(note, answer)
        message = await to_thread.run_sync(lambda: miss.message)
        note.answer = ("miss: " + message.splitlines()[0]) if message else "miss"
        problem = Problem(404, "NotFoundError", message, headers=((MISS_HEADER, "1"),))
        return self._problem(note, problem, as_refusal=False)

    def _hit(self, note: RequestNote, hit: Hit) -> None:
        self._metrics.matched()
        note.answer = hit.name

    def _problem(self, note: RequestNote, problem: Problem, *, as_refusal: bool = True) -> Response:
        status, headers, body = render_problem(problem, self._settings.error_layout)
        if as_refusal:
            note.answer = f"refused: {problem.message.splitlines()[0]}"
        return self._respond(note, self._built(status, tuple(headers), body), speed=0.0)

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
            in_one_write=self._settings.stream_in_one_write,
        )


@dataclass(frozen=True, slots=True)
class Endpoints:
    """The app's routes for Starlette, and the built-in ones by ``(method, path)`` for a caller
    that dispatches them itself (``nim_mock.app``'s direct lane)."""

    routes: list[BaseRoute]
    exact: Mapping[tuple[str, str], Handler]


def build_endpoints(
    cassettes: Sequence[Cassette], matcher: Matcher, metrics: Metrics, settings: MockSettings, clock: Clock
) -> Endpoints:
    """The app's routes, as data, bound to this app's matcher, metrics and settings."""
    return _Endpoints(cassettes, matcher, metrics, settings, clock).routes()


def as_asgi(handler: Handler) -> ASGIApp:
    """``handler`` as an ASGI app: what Starlette's route makes of it, without its wrappers."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await handler(Request(scope, receive))
        await response(scope, receive, send)

    return app


def _recorded_request(method: str, path: str, raw: bytes) -> RecordedRequest:
    """The request in the matcher's terms: method, path with query, and the body read as the recorder
    reads it (``matchable_body``). No headers: nothing that answers (matching, synthesis) reads them,
    and copying them cost every request a dict."""
    body, raw_body = matchable_body(raw)
    return RecordedRequest(method=method.upper(), path=path, body=body, raw_body=raw_body)


def _names_a_served_model(interaction: Interaction) -> bool:
    """Whether the request names a model the recorded server serves, so the listing should show it.

    Only when the server answered it with a success: an error cassette's model may be one the server
    refused (``gpt-4o`` sent to a NIM), and the empty id is not listed (vLLM answers it with its
    default model; no client can ask for it by that name)."""
    return bool(interaction.request.model) and 200 <= interaction.response.status < 300


class _EveryMethod:
    """An ASGI app Starlette routes every method to (it restricts methods only for functions)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)
