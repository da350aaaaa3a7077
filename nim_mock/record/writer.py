"""``nim-mock record``'s sink: one redacted cassette file per finished exchange, one log line per exchange.

The recording proxy (``proxy``, shared with the pytest plugin's record mode) calls ``add`` with each
finished exchange and ``fail`` with each one that went wrong; this module only names, redacts, writes
and reports. Nothing partial is ever written: a failed exchange never reaches ``add``, and
``save_cassette`` writes atomically and refuses a file in which a known secret pattern survived.

File names sort in recording order and say what they hold:
``<NNNN>-<method>-<path>[-<model>].json``, e.g. ``0001-post-v1-chat-completions-local-tiny-qwen2.json``
(the counter continues after the highest number already in the folder, so a second run into the
same folder never reuses a number and an earlier recording is never overwritten; path and model
are lower-cased, any run of characters other than
letters, digits, ``.`` and ``_`` becomes ``-``). Each file holds one interaction; ``nim-mock serve``
on the folder replays them all, identical requests in name order.

Redaction is ``redact.redact_recording``, the very code the pytest plugin's record mode uses: the
values the user lists, keys of known shape, and every credential the exchange carries (what the
client put in a credential header, query parameter or body field, what the server handed out under
a credential name), replaced wherever and however encoded they reappear. A local server's key has no
recognisable shape, yet it may be echoed. An exchange is refused only if a known secret would still
be in the file, and the log line names where.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from nim_mock.cassette import Cassette, CassetteError, Interaction, RecordedResponse
from nim_mock.cassettes.naming import cassette_path
from nim_mock.record.redact import Redactor, redact_recording

__all__ = ["CassetteWriter", "TestCassetteWriter", "cassette_stem", "describe", "highest_number"]

_SLUG: Final = re.compile(r"[^a-z0-9._]+")
_NUMBERED: Final = re.compile(r"(\d{4,})-.*\.json")
_MAX_SLUG: Final = 60


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-.")[:_MAX_SLUG].strip("-.")


def cassette_stem(interaction: Interaction, counter: int) -> str:
    """The file name (without ``.json``) for the ``counter``-th exchange of a run."""
    request = interaction.request
    parts = [
        f"{counter:04d}",
        _slug(request.method) or "request",
        _slug(request.path.split("?", 1)[0]) or "root",
    ]
    model = _slug(request.model or "")
    if model:
        parts.append(model)
    return "-".join(parts)


def highest_number(folder: Path) -> int:
    """The highest ``NNNN`` prefix of the cassettes in ``folder`` (0 when there is none)."""
    try:
        names = [entry.name for entry in folder.iterdir()]
    except OSError:
        return 0
    numbers = [int(found.group(1)) for name in names if (found := _NUMBERED.fullmatch(name))]
    return max(numbers, default=0)


def describe(response: RecordedResponse) -> str:
    """A short account of a response for the log: status, events or size, and timing."""
    if response.events is not None:
        events = response.events
        timing = f", first {events[0].t_ms:g} ms, last {events[-1].t_ms:g} ms" if events else ""
        return f"{response.status}, {len(events)} event{'s' if len(events) != 1 else ''}{timing}"
    return f"{response.status}, {len(response.body)} bytes, headers at {response.t_headers_ms:g} ms"


class _Bookkeeping:
    """What both sinks share: counting exchanges in flight, and logging a failed one, redacted."""

    log: Callable[[str], None]
    redact: Sequence[str]
    failed: list[str]
    _lock: threading.Lock
    _in_flight: int

    def begin(self) -> None:
        with self._lock:
            self._in_flight += 1

    @property
    def in_flight(self) -> int:
        """Exchanges started but not yet written or failed (Ctrl-C reports them as lost)."""
        return self._in_flight

    def _done(self) -> None:
        self._in_flight = max(self._in_flight - 1, 0)

    def fail(self, reason: str) -> None:
        reason = Redactor.listing(self.redact).text(reason)
        with self._lock:
            self._done()
            self.failed.append(reason)
        self.log(f"FAILED {reason}")


@dataclass
class CassetteWriter(_Bookkeeping):
    """A ``RecordingSink`` that writes each finished exchange to ``folder`` as its own cassette.

    ``log`` receives one line per exchange (written, refused or failed); ``written`` and ``failed``
    keep the outcome for callers and tests. ``note`` (e.g. the engine, its version and the model)
    follows the standard description of where and when the cassette was recorded.
    """

    folder: Path
    upstream: str
    log: Callable[[str], None]
    redact: Sequence[str] = ()
    note: str = ""
    written: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    _counter: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: int = 0

    def _reserve(self, interaction: Interaction) -> Path:
        if self._counter is None:  # read once, at the first exchange: this run numbers after the last
            self._counter = highest_number(self.folder)
        while True:
            self._counter += 1
            path = self.folder / f"{cassette_stem(interaction, self._counter)}.json"
            if not path.exists():
                return path

    def add(self, interaction: Interaction) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        description = f"Recorded by nim-mock record from {self.upstream} at {stamp}."
        if self.note:
            description += f" {self.note}"
        # The file's name comes from the redacted request, so it is only known once redaction is done.
        redacted = redact_recording(Cassette("", (interaction,), description), self.redact)
        clean = redacted.cassette.interactions[0]
        request = clean.request
        with self._lock:
            self._done()
            path = self._reserve(clean)
            try:
                redacted.save(path)
            except CassetteError as error:
                self.failed.append(str(error))
                self.log(f"{request.method} {request.path} {describe(clean.response)}: NOT WRITTEN: {error}")
                return
            self.written.append(path)
        self.log(f"{request.method} {request.path} {describe(clean.response)}: wrote {path}")


@dataclass
class TestCassetteWriter(CassetteWriter):
    """A ``RecordingSink`` that writes every exchange of a run into one cassette, the plugin's layout.

    ``nim-mock record --test NODEID``: the file is the one the pytest plugin replays for that test
    (``name``, from ``cassettes.naming``, under ``folder``), so a recording made by hand (a notebook,
    a script, another client) is replayed by the test without renaming anything. The cassette is
    written again, atomically, after each exchange, so a stop keeps every exchange that finished;
    it starts empty (a run replaces what the file held before, as ``--nim-mode=record`` does).
    """

    __test__ = False  # a name pytest would otherwise try to collect

    name: str = ""
    _interactions: list[Interaction] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return cassette_path(self.folder, self.name)

    def add(self, interaction: Interaction) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        description = f"Recorded by nim-mock record from {self.upstream} at {stamp} for {self.name}."
        if self.note:
            description += f" {self.note}"
        with self._lock:
            self._done()
            interactions = (*self._interactions, interaction)
            redacted = redact_recording(Cassette(self.name, interactions, description), self.redact)
            clean = redacted.cassette.interactions[-1]
            line = f"{clean.request.method} {clean.request.path} {describe(clean.response)}"
            try:
                redacted.save(self.path)
            except CassetteError as error:
                self.failed.append(str(error))
                self.log(f"{line}: NOT WRITTEN: {error}")
                return
            self._interactions.append(interaction)
            if not self.written:
                self.written.append(self.path)
        self.log(f"{line}: interaction #{len(interactions)} of {self.path}")
