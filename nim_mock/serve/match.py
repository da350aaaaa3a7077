"""Which recorded interaction answers a request, and, when none does, a message that says why.

A request matches an interaction when the method, the path (query included) and the body are equal,
bodies compared in canonical form (``canonical``) after the ignore paths are removed: the cassette's
own ``match.ignore`` plus the global ones (``nim-mock serve --ignore``).

Order. Identical requests replay their matching interactions in recorded order: the Nth identical
request gets the Nth matching interaction of that cassette. Once all were played, it starts again from
the first, so a long test run never runs dry. Consequence worth knowing: a client that retries after
a recorded 429 sees the 429 and then the 200, and a third identical request sees the 429 again.
With ``repeats=False`` (vcrpy's default; the pytest plugin's ``allow_playback_repeats=False``) each
interaction answers once and the request after the last is a miss saying so. ``Matcher.reset``
starts the counts over; ``Matcher.unplayed`` lists the interactions no request was answered with.
``match_on`` adds matchers ``(recorded, sent) -> bool`` an interaction must also satisfy (the
plugin's ``nim_config``).

Scope. Without a scope the first cassette (in the order given, which ``load_cassettes`` sorts by name)
that holds a match answers; with ``scope="chat/plain"`` only that cassette may answer.

Speed. Interactions are indexed by (method, path, canonical body) once, per distinct set of ignore
paths, so a request costs one canonical rendering and one dict lookup per ignore set, whatever the
number of cassettes. A caller that has the bytes a body was parsed from passes them as ``source``:
the same bytes always give the same answer, so the last ``MEMO_ENTRIES`` answers are kept by bytes
and a load test repeating a request skips the rendering; through ``match_lazily`` it skips
parsing the body too. Only a miss walks the candidates, to
find the closest one, and only once its report is read (``Miss`` builds it lazily).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nim_mock.cassette import Cassette, Interaction, RecordedRequest
from nim_mock.cassettes.canonical import (
    ABSENT,
    IgnorePath,
    body_key,
    describe_value,
    diff_leaves,
    flatten,
    parse_ignore,
    strip_ignored,
)

__all__ = ["MEMO_ENTRIES", "RECORD_HINT", "Hit", "Matcher", "Miss", "MissReport"]

RECORD_HINT = (
    "To record it: nim-mock record --upstream <URL> --cassettes <DIR> (or pytest --nim-mode=record)."
)
_MAX_DIFFS = 20
_MAX_ROUTES = 12
MEMO_ENTRIES = 1024
"""How many answers ``Matcher.match`` keeps by source bytes (oldest dropped first)."""
_MEMO_MAX_BYTES = 16 * 1024
"""Bodies larger than this are not kept: the memo stays under 16 MiB of keys."""

_Key = tuple[str, str, tuple[str, str | bytes]]
"""(method, path, body key): what identical requests share."""


@dataclass(frozen=True, slots=True)
class Hit:
    """The interaction that answers: ``index`` is its 0-based position in ``cassette.interactions``."""

    cassette: Cassette
    index: int
    interaction: Interaction
    name: str = field(init=False, compare=False)
    """``<cassette>#<1-based position>``, as the request log names what answered."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", f"{self.cassette.name}#{self.index + 1}")


@dataclass(frozen=True)
class MissReport:
    """What a Miss says: the full message, the nearest cassette's name, and each differing leaf."""

    message: str
    closest: str | None
    diffs: tuple[str, ...]


class Miss:
    """No interaction answers. ``message`` is complete and meant to be shown as is.

    ``closest`` names the cassette holding the nearest interaction (same method and path, fewest
    differing leaves, ties going to the one whose differing values read most alike); ``diffs`` lists
    each differing leaf as ``path: recorded X, sent Y``.

    The report is built on first read, not at the miss: finding the nearest interaction walks every
    candidate on the route (milliseconds with the bundled cassettes), and a server that synthesizes an
    answer to a miss, or builds a default model listing, never reads it.
    """

    __slots__ = ("_build", "_report")

    def __init__(self, build: Callable[[], MissReport]) -> None:
        self._build = build
        self._report: MissReport | None = None

    def report(self) -> MissReport:
        """The whole report, built once (the matcher's state it reads never changes after construction)."""
        if self._report is None:
            self._report = self._build()
        return self._report

    @property
    def message(self) -> str:
        return self.report().message

    @property
    def closest(self) -> str | None:
        return self.report().closest

    @property
    def diffs(self) -> tuple[str, ...]:
        return self.report().diffs

    def __repr__(self) -> str:
        return f"Miss({self.message!r})"


@dataclass(frozen=True)
class _IgnoreGroup:
    """Cassettes that share one set of ignore paths, indexed by request key."""

    ignore: tuple[IgnorePath, ...]
    index: dict[_Key, dict[int, list[int]]]


def _request_key(method: str, path: str, request: RecordedRequest, ignore: tuple[IgnorePath, ...]) -> _Key:
    return (method, path, body_key(request.body, request.raw_body, ignore))


def _body_leaves(request: RecordedRequest, ignore: tuple[IgnorePath, ...]) -> dict[str, Any]:
    if request.body is not None:
        return flatten(strip_ignored(request.body, ignore))
    if request.raw_body:
        return {"body (not JSON)": request.raw_body}
    return {}


def _likeness(diffs: list[tuple[str, Any, Any]]) -> float:
    """How alike the differing values are (0 = nothing alike): breaks ties between equally far candidates.

    With 500 cassettes that differ only in the prompt, every candidate is one leaf away; the one whose
    prompt reads most like the sent one is the one the user meant.
    """
    import difflib  # only a miss compares values, and a replaying server may never miss

    total = 0.0
    for _, recorded, sent in diffs[:_MAX_DIFFS]:
        if recorded is ABSENT or sent is ABSENT:
            continue
        left, right = describe_value(recorded, 200), describe_value(sent, 200)
        total += difflib.SequenceMatcher(None, left, right, autojunk=False).ratio()
    return total


def _describe_diff(path: str, recorded: object, sent: object) -> str:
    path = path or "body"  # a scalar or empty body is one leaf with an empty path
    return f"{path}: recorded {describe_value(recorded)}, sent {describe_value(sent)}"


def _cap(items: Sequence[str], limit: int) -> list[str]:
    if len(items) <= limit:
        return list(items)
    return [*items[:limit], f"and {len(items) - limit} more"]


class Matcher:
    """Finds the interaction that answers each request, keeping per-cassette play counts.

    Thread-safe: play counts sit behind a lock, so a server on threads or the pytest plugin can share
    one matcher.
    """

    def __init__(
        self,
        cassettes: Sequence[Cassette],
        *,
        ignore: Sequence[str] = (),
        repeats: bool = True,
        match_on: Sequence[Callable[[RecordedRequest, RecordedRequest], bool]] = (),
    ) -> None:
        self._cassettes = tuple(cassettes)
        self._repeats = repeats
        self._match_on = tuple(match_on)
        self._position: dict[str, int] = {}
        for position, cassette in enumerate(self._cassettes):
            if cassette.name in self._position:
                raise ValueError(f"two cassettes are both named {cassette.name!r}; rename one of them")
            self._position[cassette.name] = position
        global_ignore = tuple(parse_ignore(path) for path in ignore)
        groups: dict[tuple[IgnorePath, ...], _IgnoreGroup] = {}
        self._group_of: list[_IgnoreGroup] = []
        self._routes: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for position, cassette in enumerate(self._cassettes):
            try:
                own = tuple(parse_ignore(path) for path in cassette.ignore)
            except ValueError as error:
                raise ValueError(f"cassette {cassette.name}: {error}") from None
            paths = tuple(sorted(set(global_ignore + own)))
            group = groups.setdefault(paths, _IgnoreGroup(paths, {}))
            self._group_of.append(group)
            for index, interaction in enumerate(cassette.interactions):
                request = interaction.request
                method = request.method.upper()
                key = _request_key(method, request.path, request, group.ignore)
                group.index.setdefault(key, {}).setdefault(position, []).append(index)
                self._routes.setdefault((method, request.path), []).append((position, index))
        self._groups = tuple(groups.values())
        # A Hit never changes, so each interaction has one, built here rather than per request.
        self._hits = [
            [Hit(cassette, index, interaction) for index, interaction in enumerate(cassette.interactions)]
            for cassette in self._cassettes
        ]
        self._plays: dict[str, dict[_Key, int]] = {}
        self._played: set[tuple[int, int]] = set()
        self._memo: dict[tuple[str, str, str | None, bytes], tuple[int, _Key, list[int]] | None] = {}
        self._lock = threading.Lock()

    @property
    def cassettes(self) -> tuple[Cassette, ...]:
        return self._cassettes

    def match(
        self, request: RecordedRequest, *, scope: str | None = None, source: bytes | None = None
    ) -> Hit | Miss:
        """The next interaction for ``request`` (optionally only from cassette ``scope``), or a Miss.

        ``source``: the bytes ``request.body`` was parsed from, if the caller has them (see Speed).
        """
        return self.match_lazily(request.method, request.path, lambda: request, scope=scope, source=source)

    def match_lazily(
        self,
        method: str,
        path: str,
        request_of: Callable[[], RecordedRequest],
        *,
        scope: str | None = None,
        source: bytes | None = None,
    ) -> Hit | Miss:
        """:meth:`match` for a caller whose request costs work to build (its body parsed from
        ``source``): ``request_of()`` is called only when the answer for those bytes is not remembered,
        an extra matcher needs the request, or a miss report is read."""
        method = method.upper()
        if scope is not None and scope not in self._position:
            return Miss(lambda: self._unknown_scope(method, path, scope))
        if source is not None and len(source) <= _MEMO_MAX_BYTES:
            found = self._find_by_source(method, path, request_of, scope, source)
        else:
            found = self._find(method, request_of(), scope)
        if found is None:
            return Miss(lambda: self._miss(method, request_of(), scope))
        position, key, indices = found
        cassette = self._cassettes[position]
        if self._match_on:
            request = request_of()
            indices = [
                index
                for index in indices
                if all(agrees(cassette.interactions[index].request, request) for agrees in self._match_on)
            ]
            if not indices:
                return Miss(lambda: self._refused(method, path, cassette.name))
        with self._lock:
            counts = self._plays.setdefault(cassette.name, {})
            played = counts.get(key, 0)
            if not self._repeats and played >= len(indices):
                return Miss(lambda: self._exhausted(method, path, cassette.name, len(indices)))
            counts[key] = played + 1
            index = indices[played % len(indices)]
            self._played.add((position, index))
        return self._hits[position][index]

    def unplayed(self) -> list[tuple[Cassette, int]]:
        """Each (cassette, 0-based index) no request has been answered with since the last reset."""
        with self._lock:
            played = set(self._played)
        return [
            (cassette, index)
            for position, cassette in enumerate(self._cassettes)
            for index in range(len(cassette.interactions))
            if (position, index) not in played
        ]

    def reset(self, scope: str | None = None) -> None:
        """Forget play counts: of every cassette, or only of cassette ``scope``."""
        with self._lock:
            if scope is None:
                self._plays.clear()
                self._played.clear()
            else:
                self._plays.pop(scope, None)
                position = self._position.get(scope)
                self._played = {pair for pair in self._played if pair[0] != position}

    def _find_by_source(
        self,
        method: str,
        path: str,
        request_of: Callable[[], RecordedRequest],
        scope: str | None,
        source: bytes,
    ) -> tuple[int, _Key, list[int]] | None:
        """``_find``, remembered by the body's bytes: the index never changes, so neither does the answer."""
        memo_key = (method, path, scope, source)
        try:  # one dict read is atomic, so it needs no lock (writes take it, to evict and add together)
            return self._memo[memo_key]
        except KeyError:
            pass
        found = self._find(method, request_of(), scope)
        with self._lock:
            if len(self._memo) >= MEMO_ENTRIES:
                del self._memo[next(iter(self._memo))]
            self._memo[memo_key] = found
        return found

    def _find(
        self, method: str, request: RecordedRequest, scope: str | None
    ) -> tuple[int, _Key, list[int]] | None:
        if scope is not None:
            position = self._position[scope]
            group = self._group_of[position]
            key = _request_key(method, request.path, request, group.ignore)
            indices = group.index.get(key, {}).get(position)
            return (position, key, indices) if indices else None
        best: tuple[int, _Key, list[int]] | None = None
        for group in self._groups:
            key = _request_key(method, request.path, request, group.ignore)
            by_cassette = group.index.get(key)
            if not by_cassette:
                continue
            position = min(by_cassette)
            if best is None or position < best[0]:
                best = (position, key, by_cassette[position])
        return best

    def _refused(self, method: str, path: str, name: str) -> MissReport:
        names = ", ".join(getattr(agrees, "__name__", repr(agrees)) for agrees in self._match_on)
        message = (
            f"no recorded interaction matches {method} {path}: cassette {name} holds one with the same "
            f"method, path and body, but an extra matcher ({names}) refused every such interaction."
        )
        return MissReport(message, name, ())

    @staticmethod
    def _exhausted(method: str, path: str, name: str, recorded: int) -> MissReport:
        message = (
            f"no recorded interaction is left for {method} {path}: cassette {name} holds {recorded} "
            f"matching interaction(s) and each was already played once; this request is one more than "
            "was recorded. Record the test again (--nim-record-mode=new_episodes records the extra one), "
            "or allow replaying (@pytest.mark.nim(allow_playback_repeats=True))."
        )
        return MissReport(message, name, ())

    def _unknown_scope(self, method: str, path: str, scope: str) -> MissReport:
        names = _cap(sorted(self._position), _MAX_ROUTES)
        loaded = ", ".join(names) if names else "none"
        message = (
            f"no recorded interaction matches {method} {path}: no cassette named {scope!r} is loaded "
            f"(loaded: {loaded}). Check the name, or record it. {RECORD_HINT}"
        )
        return MissReport(message, None, ())

    def _miss(self, method: str, request: RecordedRequest, scope: str | None) -> MissReport:
        where = f" in cassette {scope}" if scope is not None else ""
        head = f"no recorded interaction matches {method} {request.path}{where}."
        candidates = [
            (position, index)
            for position, index in self._routes.get((method, request.path), [])
            if scope is None or self._cassettes[position].name == scope
        ]
        elsewhere = self._elsewhere_hint(method, request, scope)
        if not candidates:
            routes = self._routes_hint(method, request.path, scope)
            return MissReport(f"{head} {routes}{elsewhere} {RECORD_HINT}", None, ())
        sent_cache: dict[tuple[IgnorePath, ...], dict[str, Any]] = {}
        best: tuple[int, float, int, int, list[tuple[str, Any, Any]]] | None = None
        for position, index in candidates:
            ignore = self._group_of[position].ignore
            sent = sent_cache.get(ignore)
            if sent is None:
                sent = sent_cache[ignore] = _body_leaves(request, ignore)
            recorded = _body_leaves(self._cassettes[position].interactions[index].request, ignore)
            diffs = diff_leaves(recorded, sent)
            rank = (len(diffs), -_likeness(diffs), position, index)
            if best is None or rank < best[:4]:
                best = (*rank, diffs)
        assert best is not None  # candidates is not empty
        _, _, position, index, leaf_diffs = best
        cassette = self._cassettes[position]
        lines = [_describe_diff(path, recorded, sent) for path, recorded, sent in leaf_diffs]
        if not lines:
            # Same leaves, different shape: e.g. {"a": {"0": 1}} against {"a": [1]}.
            lines = [
                _describe_diff("body", cassette.interactions[index].request.body, request.body)
                + " (same leaves, different structure)"
            ]
        shown = tuple(_cap(lines, _MAX_DIFFS))
        file_part = f", file {cassette.source}" if cassette.source is not None else ""
        message = (
            f"{head} Closest: {cassette.name} (interaction #{index + 1}{file_part}); "
            f"differs at: {'; '.join(shown)}.{elsewhere} {RECORD_HINT}"
        )
        return MissReport(message, cassette.name, shown)

    def _elsewhere_hint(self, method: str, request: RecordedRequest, scope: str | None) -> str:
        """When scoped, say so if another cassette would have answered: the usual cause is a wrong name."""
        if scope is None:
            return ""
        found = self._find(method, request, None)
        if found is None:
            return ""
        other = self._cassettes[found[0]].name
        return f" (cassette {other} matches it, but this request is scoped to {scope})"

    def _routes_hint(self, method: str, path: str, scope: str | None) -> str:
        routes = sorted(
            {
                f"{m} {p}"
                for (m, p), entries in self._routes.items()
                if scope is None or any(self._cassettes[pos].name == scope for pos, _ in entries)
            }
        )
        if not routes:
            return "Nothing is recorded at all."
        listed = ", ".join(_cap(routes, _MAX_ROUTES))
        what = f"cassette {scope}" if scope is not None else "the cassettes"
        return f"Nothing in {what} has {method} {path}; recorded: {listed}."
