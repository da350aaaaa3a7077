"""The seeded decision: which faults hit which request.

Why it is its own module: determinism is the point of fault injection in tests (a flaky fault test
is worse than none), so the decision depends only on the rules, the seed and how many requests a
rule has seen: ``fires`` is a pure function of ``(when, seed, rule index, n)``, and a fraction is
drawn from a hash of those, never from a shared random generator whose state depends on what else
ran. The same seed and the same request order give the same faulted requests, on any machine.

:class:`FaultPlan` holds the only state: a counter per rule, the request counter, and a bounded
history of what was applied (read by tests and the pytest plugin's ``nim_harness_faults`` fixture).
"""

from __future__ import annotations

import collections
import fnmatch
import hashlib
import threading
from dataclasses import dataclass, field

from nim_mock.faults.kinds import (
    Accepted,
    Cut,
    Fault,
    FaultRules,
    Latency,
    Malformed,
    Match,
    RateLimit,
    ServerError,
    SlowFirstToken,
    SlowTokens,
    StreamError,
    When,
)

__all__ = ["Applied", "Decision", "Effects", "FaultPlan", "RequestFacts", "combine", "fires", "request_id"]

_HISTORY = 1000
"""How many decisions the plan remembers (a long-running server must not grow without bound)."""


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What a rule can look at: the request line and, when a rule needs it, the body's model/stream."""

    method: str
    path: str
    model: str | None = None
    stream: bool | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The faults chosen for request number ``number`` (1-based), and from which rule each came."""

    number: int
    faults: tuple[Fault, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Applied:
    """One request that got faults: its number, path and the labels of what took effect."""

    number: int
    path: str
    labels: tuple[str, ...]


def _unit(seed: int, rule: int, n: int) -> float:
    """A uniform draw in [0, 1) from a hash: the same inputs give the same draw everywhere."""
    digest = hashlib.blake2b(f"{seed}:{rule}:{n}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def fires(when: When, seed: int, rule: int, n: int) -> bool:
    """Whether a rule fires for the ``n``-th request it matched (``n`` counts from 1)."""
    if when.every is not None:
        return n % when.every == 0
    if when.first is not None:
        return n <= when.first
    if when.probability is not None:
        return _unit(seed, rule, n) < when.probability
    return True


def request_id(seed: int, n: int) -> str:
    """A UUID-shaped NVCF-REQID, reproducible from the seed and the 202's sequence number."""
    hexed = hashlib.blake2b(f"nvcf:{seed}:{n}".encode(), digest_size=16).hexdigest()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def matches(match: Match, facts: RequestFacts) -> bool:
    if match.method is not None and match.method != facts.method:
        return False
    if match.path is not None and not fnmatch.fnmatchcase(facts.path, match.path):
        return False
    if match.model is not None and (facts.model is None or not fnmatch.fnmatchcase(facts.model, match.model)):
        return False
    return match.stream is None or match.stream == bool(facts.stream)


class FaultPlan:
    """Counts requests per rule and decides; one per app, safe to read from another thread."""

    def __init__(self, rules: FaultRules | None = None) -> None:
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._in_flight = 0
        self._rules = rules or FaultRules()
        self._seen = [0] * len(self._rules.rules)
        self._requests = 0
        self._accepted = 0
        self._history: collections.deque[Applied] = collections.deque(maxlen=_HISTORY)

    @property
    def rules(self) -> FaultRules:
        return self._rules

    def replace(self, rules: FaultRules) -> None:
        """Use ``rules`` from now on, counting from zero again (the plugin's per-test faults).

        Waits (at most 2 s) for faulted requests still being finished first, so the record of the
        previous test's last request, written just after its last byte, cannot land in the new history.
        """
        with self._lock:
            self._settled.wait_for(lambda: self._in_flight == 0, timeout=2.0)
            self._rules = rules
            self._seen = [0] * len(rules.rules)
            self._requests = 0
            self._history.clear()

    def decide(self, facts: RequestFacts) -> Decision:
        """Count this request and return the faults every matching, firing rule asks for."""
        with self._lock:
            self._requests += 1
            faults: list[Fault] = []
            sources: list[str] = []
            for index, rule in enumerate(self._rules.rules):
                if not matches(rule.match, facts):
                    continue
                self._seen[index] += 1
                if fires(rule.when, self._rules.seed, index, self._seen[index]):
                    faults += rule.faults
                    sources += [rule.name] * len(rule.faults)
            return Decision(self._requests, tuple(faults), tuple(sources))

    def next_request_id(self) -> str:
        with self._lock:
            self._accepted += 1
            return request_id(self._rules.seed, self._accepted)

    def begin(self) -> None:
        """A faulted request started; :meth:`record` ends it."""
        with self._lock:
            self._in_flight += 1

    def record(self, applied: Applied | None) -> None:
        """A faulted request ended, with what took effect (``None``: nothing did)."""
        with self._lock:
            if applied is not None:
                self._history.append(applied)
            self._in_flight = max(0, self._in_flight - 1)
            self._settled.notify_all()

    @property
    def applied(self) -> list[Applied]:
        """What took effect so far (the last 1000 requests that got faults), oldest first.

        Waits (at most 2 s) for faulted requests still being finished: the server writes the
        record just after a response's last byte, so a client that has read it is a moment ahead.
        """
        with self._lock:
            self._settled.wait_for(lambda: self._in_flight == 0, timeout=2.0)
            return list(self._history)


@dataclass(slots=True)
class Effects:
    """What a request's faults add up to, each chosen fault with its label (``kind``, ``label``).

    Delays add up; of the faults that replace the answer (429, 5xx, 202) and of those that end a
    stream early (cut, in-stream error) the first listed wins and the others are reported as
    ignored. Header faults are listed before rule faults, so a request's own header wins.
    """

    delay_ms: float = 0.0
    first_token_ms: float = 0.0
    token_ms: float = 0.0
    answer: RateLimit | ServerError | Accepted | None = None
    answer_source: str = ""
    malformed: Malformed | None = None
    end: Cut | StreamError | None = None
    chosen: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def shapes_stream(self) -> bool:
        return bool(self.first_token_ms or self.token_ms or self.malformed or self.end)

    def without_answer(self) -> Effects:
        """The same effects minus the answer and the up-front delay (for a 202's final poll)."""
        chosen = [(kind, label) for kind, label in self.chosen if kind not in ("accepted", "latency")]
        return Effects(
            first_token_ms=self.first_token_ms,
            token_ms=self.token_ms,
            malformed=self.malformed,
            end=self.end,
            chosen=chosen,
        )


def combine(faults: tuple[Fault, ...], sources: tuple[str, ...]) -> Effects:
    """Fold a request's faults into :class:`Effects` (pure; see its docstring for the rules)."""
    effects = Effects()
    for fault, source in zip(faults, sources, strict=True):
        label = f"{fault.label()} <{source}>"
        if isinstance(fault, Latency):
            effects.delay_ms += fault.ms
        elif isinstance(fault, SlowFirstToken):
            effects.first_token_ms += fault.ms
        elif isinstance(fault, SlowTokens):
            effects.token_ms += fault.ms
        elif isinstance(fault, RateLimit | ServerError | Accepted):
            if effects.answer is not None:
                effects.ignored.append(label)
                continue
            effects.answer, effects.answer_source = fault, source
        elif isinstance(fault, Malformed):
            if effects.malformed is not None:
                effects.ignored.append(label)
                continue
            effects.malformed = fault
        else:
            if effects.end is not None:
                effects.ignored.append(label)
                continue
            effects.end = fault
        effects.chosen.append((fault.KIND, label))
    return effects
