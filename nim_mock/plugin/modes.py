"""What each mode means for one test, as pure decisions the fixtures act on.

- mock:   the test talks to its cassette, replayed by the session's mock server; a missing cassette
          fails the test with the path looked for and the command that records it.
- live:   the test talks to the endpoint; without one (or without a key for the hosted catalogue)
          it is skipped with a reason naming the variable to set.
- record: like live, through the recording proxy; the cassette is written when the test passes.

Keeping these as functions of ``Settings`` (no pytest objects) lets every message be tested exactly.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

from nim_mock.plugin.options import API_KEY_ENV, Mode, Settings

__all__ = [
    "DEFAULT_MODEL",
    "Service",
    "choose_model",
    "endpoint_parts",
    "missing_cassette_message",
    "preferred_model",
    "record_command",
    "service_of",
    "session_error",
    "skip_reason",
]

Service = Literal["chat", "embeddings", "ranking"]
"""What a request asks of a NIM: a chat (or completion, or listing), embeddings, or a ranking."""

DEFAULT_MODEL: Final = "meta/llama-3.1-8b-instruct"
"""The model the fixtures ask for when nothing else names one (the NIM documentation's own example)."""


def skip_reason(settings: Settings) -> str | None:
    """Why a test cannot run against a real endpoint in this configuration, or ``None`` when it can."""
    if settings.mode is Mode.MOCK:
        return None
    if settings.endpoint is None:
        return (
            f"--nim-mode={settings.mode.value} needs an endpoint: set NIM_ENDPOINT (or "
            "--nim-harness-endpoint, or nim_harness_endpoint in the ini file) to the server's base URL, "
            "e.g. http://localhost:8000/v1"
        )
    if settings.endpoint_is_hosted and not settings.api_key:
        return (
            f"{API_KEY_ENV} is not set: {settings.endpoint} refuses requests without a key; export "
            f"{API_KEY_ENV}=nvapi-... or point NIM_ENDPOINT at a local NIM"
        )
    return None


def session_error(settings: Settings) -> str | None:
    """Why this session must stop before running anything, or ``None``.

    A live or record mode asked for on the command line and unable to reach its endpoint would
    skip every test and exit 0: a CI job that lost its variable would go green having run nothing.
    So it fails, in one line naming the variable, unless ``--nim-harness-no-endpoint=skip`` asks
    for the skips. A mode from the environment or the ini file keeps skipping: such suites often
    mix modes, and the run did not ask for this one explicitly.
    """
    reason = skip_reason(settings)
    if reason is None or settings.skip_without_endpoint:
        return None
    if settings.sources.get("mode") != "--nim-mode":
        return None
    return f"{reason} (or pass --nim-harness-no-endpoint=skip to skip the tests that need it)"


def choose_model(settings: Settings, marker_model: str | None, cassette_models: tuple[str, ...]) -> str:
    """The model a test asks for.

    The marker wins, then a model given on the command line (``--nim-harness-model``: asked for
    explicitly, so it is used, and a cassette recorded for another model misses saying so). In mock
    mode the cassette's own model comes next, because the mock can only answer what was recorded (a
    ``NIM_MODEL`` left in the shell for live runs must not break mock runs); elsewhere the
    configured model does. Last comes ``DEFAULT_MODEL``.
    """
    return preferred_model(settings, "model", marker_model, cassette_models) or DEFAULT_MODEL


def preferred_model(
    settings: Settings, field: str, marker_model: str | None, cassette_models: tuple[str, ...]
) -> str | None:
    """The order :func:`choose_model` describes, for the settings ``field`` naming a model
    (``model``, ``embed_model``, ``rerank_model``); ``None`` when nothing names one."""
    if marker_model:
        return marker_model
    configured: str | None = getattr(settings, field)
    explicit = settings.sources.get(field, "").startswith("--")
    if settings.mode is Mode.MOCK and cassette_models and not (explicit and configured):
        return cassette_models[0]
    return configured or None


def service_of(path: str) -> Service:
    """The service a request path belongs to (``/v1/embeddings``, hosted ``.../reranking``, ...).

    A cassette may hold a whole RAG flow; each fixture picks its model from its own requests."""
    route = path.partition("?")[0].rstrip("/")
    if route.endswith("/embeddings"):
        return "embeddings"
    if route.endswith(("/ranking", "/reranking")):
        return "ranking"
    return "chat"


def endpoint_parts(endpoint: str) -> tuple[str, str]:
    """Split a base URL into its origin (forwarded to by the proxy) and its path (kept by the client)."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")


def record_command(nodeid: str, settings: Settings, *, rootdir: Path, invocation_dir: Path) -> str:
    """The exact command that records ``nodeid``'s cassette (run from the directory it names)."""
    endpoint = settings.endpoint or "http://localhost:8000/v1"
    command = f"pytest {shlex.quote(nodeid)} --nim-mode=record --nim-harness-endpoint={shlex.quote(endpoint)}"
    if settings.sources.get("cassettes", "").startswith(("--", "$")):
        command += f" --nim-harness-cassettes={shlex.quote(str(settings.cassettes))}"
    if rootdir.resolve() != invocation_dir.resolve():
        command = f"cd {shlex.quote(str(rootdir))} && {command}"
    return command


def missing_cassette_message(path: Path, command: str) -> str:
    """The failure a mock-mode test gets when its cassette does not exist."""
    return (
        f"nim-harness: no cassette for this test; looked for {path}\n"
        f"Record it against a real endpoint with:\n    {command}\n"
        "or name an existing one with @pytest.mark.nim(cassette='<name under the cassette folder>')."
    )
