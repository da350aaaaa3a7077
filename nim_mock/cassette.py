"""The in-memory model of a cassette: what was asked, what was answered, and when.

A cassette is one scenario (one file) holding one or more interactions, replayed in order.
Bodies are kept as the exact bytes that crossed the wire; the on-disk format (``persist``)
stores them as structured JSON where that re-renders to the very same bytes, so a diff of a
cassette reads like a diff of the API and replay stays byte-exact.

Timing: every offset is in milliseconds from the moment the request was sent (recording) or
received (replay). Replay schedules each event at ``start + t_ms * speed`` so no drift builds up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Cassette",
    "CassetteError",
    "Event",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "compact_json",
]

FORMAT = "nim-harness.cassette"
FORMAT_VERSION = 1

JsonValue = Any
"""A value ``json.loads`` can return; kept as ``Any`` because JSON is recursive."""


class CassetteError(ValueError):
    """A cassette that cannot be read, written or trusted, with where and what to do about it.

    Every problem with a cassette file ends up here, never as a bare ``KeyError`` or
    ``JSONDecodeError``: the server, the CLI and the pytest plugin print ``str(err)`` as is, so it must
    name the file (``source``, as the caller gave it), the spot inside it (``field``, a JSON path such
    as ``interactions[0].response.status``, empty for the whole file) and what is wrong (``problem``,
    phrased so the reader knows the fix). It is a ``ValueError`` so callers that only know "bad input"
    still catch it.
    """

    source: str
    field: str
    problem: str

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        super().__init__(source, field, problem)

    def __str__(self) -> str:
        if self.field:
            return f"{self.source}: {self.field}: {self.problem}"
        return f"{self.source}: {self.problem}"

    def __reduce__(self) -> tuple[type[CassetteError], tuple[str, str, str]]:
        # pytest-xdist and multiprocessing pickle exceptions; keep the three parts intact.
        return (type(self), (self.source, self.field, self.problem))


def compact_json(value: JsonValue) -> bytes:
    """Render JSON the way Starlette's ``JSONResponse`` (and so vLLM and NIM) does: compact, UTF-8 raw."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Event:
    """One server-sent event: the exact bytes sent (blank-line terminator included) and when."""

    t_ms: float
    raw: bytes


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """What the client asked. ``body`` is the parsed JSON body; ``raw_body`` holds a non-JSON one."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: JsonValue | None = None
    raw_body: bytes | None = None

    @property
    def model(self) -> str | None:
        """The ``model`` the request named, if any (used for listings and ``nim-mock list``)."""
        if isinstance(self.body, dict):
            model = self.body.get("model")
            return model if isinstance(model, str) else None
        return None

    @property
    def wants_stream(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    """What the server answered: status, headers in order, and either a body or a list of events."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    events: tuple[Event, ...] | None = None
    t_headers_ms: float = 0.0

    @property
    def streamed(self) -> bool:
        return self.events is not None

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class Interaction:
    """One request and the response it got."""

    request: RecordedRequest
    response: RecordedResponse


@dataclass(frozen=True, slots=True)
class Cassette:
    """One scenario: its name (path relative to its folder, no suffix), its interactions and match rules."""

    name: str
    interactions: tuple[Interaction, ...]
    description: str = ""
    ignore: tuple[str, ...] = ()
    source: Path | None = None

    @property
    def models(self) -> tuple[str, ...]:
        """Every model id the cassette's requests name, in first-seen order."""
        seen: dict[str, None] = {}
        for interaction in self.interactions:
            if interaction.request.model is not None:
                seen.setdefault(interaction.request.model)
        return tuple(seen)

    @property
    def streamed(self) -> bool:
        return any(i.response.streamed for i in self.interactions)
