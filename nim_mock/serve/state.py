"""The server-state endpoints each identity's server has, and what each answers: pure, per identity.

- ``nim1`` (NIM 1.x): ``/v1/health/ready`` and ``/v1/health/live`` (``System-Health: True``),
  ``/v1/version`` ``{"release", "api"}``, and the metrics on ``/v1/metrics`` and ``/metrics``;
- ``nim2`` (NIM 2.x): NIM's ``/v1/health/*`` and ``/v1/version`` beside vLLM's own ``/health``
  (200, no body), ``/version`` (``{"version": "0.32.0"}``) and ``/metrics``, which holds vLLM's
  families only, as vLLM's does; NIM's ``/v1/metrics`` adds the mock's ``nim_mock_*``;
- ``hosted``: the gateway has no health or version route (a client probing one gets its plain 404);
  the mock still serves its own counters on ``/v1/metrics`` and ``/metrics``.

The version is the server's, never nim-harness's own: a client that branches on it sees the
server it was written for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from nim_mock.cassette import compact_json
from nim_mock.serve.metrics import METRICS_CONTENT_TYPE, Metrics
from nim_mock.wire.http import JSON_CONTENT_TYPE
from nim_mock.wire.identity import VLLM_VERSION, Identity

__all__ = ["StateAnswer", "state_routes"]

Built = tuple[int, tuple[tuple[str, str], ...], bytes]

_JSON: Final = (("content-type", JSON_CONTENT_TYPE),)
_HEALTH: Final = (("system-health", "True"), *_JSON)
NIM_API_VERSION: Final = "1.0.0"
"""The ``api`` a NIM's ``/v1/version`` reports (the OpenAPI document's version)."""


@dataclass(frozen=True, slots=True)
class StateAnswer:
    """What one state route answers: ``what`` for the log line, ``build`` for status, headers, body."""

    what: str
    build: Callable[[], Built]


def _fixed(what: str, headers: tuple[tuple[str, str], ...], body: bytes) -> StateAnswer:
    return StateAnswer(what, lambda: (200, headers, body))


def state_routes(identity: Identity, metrics: Metrics) -> dict[str, StateAnswer]:
    """Path -> answer for every state route ``identity``'s server has."""

    # NIM 1.x's metrics route sets media_type="text/plain"; vLLM serves prometheus-client's type.
    media = "text/plain; charset=utf-8" if identity.name == "nim1" else METRICS_CONTENT_TYPE

    def scrape() -> Built:
        return 200, (("content-type", media),), metrics.render().encode("utf-8")

    def engine_scrape() -> Built:  # vLLM's own route: its families only, none of the mock's
        return 200, (("content-type", media),), metrics.render(mock=False).encode("utf-8")

    routes: dict[str, StateAnswer] = {}
    if identity.name != "hosted":
        routes["/v1/health/ready"] = _fixed(
            "health", _HEALTH, compact_json({"object": "health.response", "message": "Service is ready."})
        )
        routes["/v1/health/live"] = _fixed(
            "health", _HEALTH, compact_json({"object": "health.response", "message": "Service is live."})
        )
        routes["/v1/version"] = _fixed(
            "version", _JSON, compact_json({"release": identity.release, "api": NIM_API_VERSION})
        )
    if identity.name == "nim2":
        routes["/health"] = _fixed("health", (), b"")
        routes["/version"] = _fixed("version", _JSON, compact_json({"version": VLLM_VERSION}))
    routes["/v1/metrics"] = StateAnswer("metrics", scrape)
    routes["/metrics"] = StateAnswer("metrics", engine_scrape if identity.name == "nim2" else scrape)
    return routes
