"""The request note: what one request's log line and metrics need, filled in as the request goes.

Three layers write to the same note: the app's request observer starts it (arrival time) and
reads it once the response is done, the fault middleware adds the faults it applied, and the
router says which cassette answered or why none did. It travels in the ASGI scope's ``state``
under :data:`NOTE_KEY`; :func:`start_note` puts it there and :func:`note_of` is the one reader,
so no layer needs to know how the others reach it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, NamedTuple

from starlette.types import Scope

__all__ = ["NOTE_KEY", "RequestNote", "StreamOutcome", "Usage", "note_of", "start_note"]

NOTE_KEY: Final = "nim_mock.note"
"""Where the note sits in the scope's ``state``."""


@dataclass(slots=True)
class StreamOutcome:
    """How far a response got: events sent out of the recorded total, and whether the client left."""

    sent: int = 0
    total: int = 0
    disconnected: bool = False


@dataclass(slots=True)
class RequestNote:
    """What the log line and the metrics need to know about one request, filled in as it goes."""

    arrived: float
    route: str = "unknown"
    status: int = 500
    """500 until the response starts: a request that fails before it does is answered as one."""
    responded: bool = False
    """Whether the response has started (its status and headers are on their way)."""
    first_byte: float = 0.0
    """When the response started (clock seconds; 0 until it does)."""
    answer: str = ""
    outcome: StreamOutcome = field(default_factory=StreamOutcome)
    usage: Usage | None = None
    """For a chat or completions answer: what the engine metrics count."""


class Usage(NamedTuple):
    """The model, token counts and finish reason of one chat or completions answer.

    A tuple, so the metrics can count answers by it at the speed of a tuple's hash."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


def start_note(scope: Scope, *, arrived: float) -> RequestNote:
    """A fresh note for the request ``scope`` belongs to, arrived at ``arrived`` (clock seconds)."""
    note = RequestNote(arrived=arrived)
    scope.setdefault("state", {})[NOTE_KEY] = note
    return note


def note_of(scope: Scope) -> RequestNote:
    """The note the request observer started (a fresh one if the app runs without the observer)."""
    note = scope.get("state", {}).get(NOTE_KEY)
    if isinstance(note, RequestNote):
        return note
    return start_note(scope, arrived=0.0)
