"""Fixtures for the retrieval half of a RAG app: ``nim_harness_embeddings`` and ``nim_harness_rerank``.

Each is a factory, like ``nim_harness_chat``, returning a ``NVIDIAEmbeddings`` or ``NVIDIARerank``
on the test's endpoint (``nim_harness_base_url``), so one test, one cassette and one mock serve
the whole flow: embeddings, rankings and the chat answer. Live mode tees their exchanges for the
drift report and record mode records them through the same proxy.

The model each asks for: the factory's ``model=`` argument, else the ``nim`` marker's, else in
mock mode the model the cassette's own embedding (ranking) requests name, else the configured
one (``--nim-harness-embed-model``/``NIM_EMBED_MODEL``, ``--nim-harness-rerank-model``/
``NIM_RERANK_MODEL``). Live and record runs without one skip the test, saying what to set: a
chat endpoint rarely serves an embedding model too, and guessing one would only fail later with
a 404. A mock-mode test the stand-in answers (``on_miss="synthesize"``) falls back to the
published client's default model, which the stand-in knows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

import pytest

from nim_mock.plugin.fixtures import CASSETTES_KEY, NimTest, cassette_models, client_options, close_made
from nim_mock.plugin.modes import Service, preferred_model, skip_reason
from nim_mock.plugin.options import Mode, Settings

if TYPE_CHECKING:
    import httpx
    from nim_harness import NVIDIAEmbeddings, NVIDIARerank

    from nim_mock.record.proxy import Recording

__all__ = [
    "DEFAULT_EMBED_MODEL",
    "DEFAULT_RERANK_MODEL",
    "choose_service_model",
    "missing_model_reason",
    "nim_harness_embeddings",
    "nim_harness_rerank",
]

DEFAULT_EMBED_MODEL: Final = "nvidia/llama-nemotron-embed-1b-v2"
"""What a mock-mode embedding test without a cassette or configured model asks for (the published
NVIDIAEmbeddings' hosted default)."""
DEFAULT_RERANK_MODEL: Final = "nvidia/llama-nemotron-rerank-1b-v2"
"""The published NVIDIARerank's hosted default, for the same case."""

_SETTINGS: Final[dict[Service, tuple[str, str, str, str]]] = {
    # service: (Settings field, flag, variable, default model in mock mode)
    "embeddings": ("embed_model", "--nim-harness-embed-model", "NIM_EMBED_MODEL", DEFAULT_EMBED_MODEL),
    "ranking": ("rerank_model", "--nim-harness-rerank-model", "NIM_RERANK_MODEL", DEFAULT_RERANK_MODEL),
}


def choose_service_model(
    settings: Settings, service: Service, marker_model: str | None, cassette_models: tuple[str, ...]
) -> str | None:
    """The embedding or ranking model a test asks for; ``None`` when a real endpoint was given none.

    The marker wins, then a model given on the command line (as for chat); in mock mode the
    cassette's own requests come next (the mock answers only what was recorded), then the
    configured model, then (mock mode only) the published default.
    """
    field, _, _, default = _SETTINGS[service]
    found = preferred_model(settings, field, marker_model, cassette_models)
    if found:
        return found
    return default if settings.mode is Mode.MOCK else None


def missing_model_reason(settings: Settings, service: Service) -> str:
    """Why a live or record test of ``service`` is skipped when no model is configured."""
    _, flag, variable, example = _SETTINGS[service]
    kind = "an embedding" if service == "embeddings" else "a reranking"
    return (
        f"--nim-mode={settings.mode.value} needs {kind} model the endpoint serves: set {variable} (or "
        f"{flag}) to one, e.g. {example}"
    )


def _service_model(request: pytest.FixtureRequest, settings: Settings, service: Service) -> str:
    reason = skip_reason(settings)  # no endpoint (or no key) says more than no model
    if reason is not None:
        pytest.skip(reason)
    test: NimTest = request.getfixturevalue("nim_harness_test")
    recorded = cassette_models(test, settings, request.config.stash[CASSETTES_KEY], service)
    found = choose_service_model(settings, service, test.marker.model, recorded)
    if found is None:
        pytest.skip(missing_model_reason(settings, service))
    return found


@pytest.fixture
def nim_harness_embeddings(request: pytest.FixtureRequest) -> Iterator[Callable[..., NVIDIAEmbeddings]]:
    """A factory: ``nim_harness_embeddings(**overrides)`` builds a NVIDIAEmbeddings on the test's endpoint.

    Keyword arguments override any field (``nim_harness_embeddings(dimensions=384)``).
    """
    yield from _factory(request, "embeddings")


@pytest.fixture
def nim_harness_rerank(request: pytest.FixtureRequest) -> Iterator[Callable[..., NVIDIARerank]]:
    """A factory: ``nim_harness_rerank(**overrides)`` builds a NVIDIARerank on the test's endpoint.

    Keyword arguments override any field (``nim_harness_rerank(top_n=3)``).
    """
    yield from _factory(request, "ranking")


def _factory(request: pytest.FixtureRequest, service: Service) -> Iterator[Callable[..., Any]]:
    import nim_harness  # lazily: the plugin must load even where the client cannot

    cls = nim_harness.NVIDIAEmbeddings if service == "embeddings" else nim_harness.NVIDIARerank
    settings: Settings = request.getfixturevalue("nim_harness_settings")
    model = _service_model(request, settings, service)
    # Taken only once the model is settled, so a skipped test starts no mock and no proxy.
    base_url: str = request.getfixturevalue("nim_harness_base_url")
    copy: Recording = request.getfixturevalue("nim_harness_live_copy")
    made: list[httpx.Client | httpx.AsyncClient] = []

    def build(**overrides: Any) -> Any:
        return cls(**client_options(request, base_url, model, settings, copy, overrides, made))

    yield build
    close_made(made)
