"""The fault model: each kind of fault, and the rules that pick requests for them.

Plain frozen dataclasses and nothing else, so the parser (``rules``), the decision
(``plan``) and the middleware (``middleware``) share one vocabulary without importing
each other. Each fault knows its ``KIND`` (the name in rules files, logs and metrics) and its
``label()`` (how the log line shows it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

__all__ = [
    "FAULT_HEADER",
    "HEADER_SYNTAX",
    "Accepted",
    "Cut",
    "Fault",
    "FaultRules",
    "FaultRulesError",
    "HttpLayout",
    "Latency",
    "Malformed",
    "Match",
    "RateLimit",
    "Rule",
    "ServerError",
    "SlowFirstToken",
    "SlowTokens",
    "StreamError",
    "StreamLayout",
    "When",
]

FAULT_HEADER = "x-nim-mock-fault"
HEADER_SYNTAX = (
    "KIND[;NAME=VALUE]...[, KIND...] with KIND one of latency;ms=N, slow_first_token;ms=N, "
    "slow_tokens;ms=N, 429[;retry_after=S], 500|502|503|504[;retry_after=S], 202[;polls=N], cut;after=N, "
    "malformed;after=N, stream_error[;after=N;layout=nim|vllm;code=N]"
)
"""The header grammar, quoted in every error about a bad header."""

HttpLayout = Literal["nim", "vllm", "gateway"]
StreamLayout = Literal["nim", "vllm"]


class FaultRulesError(ValueError):
    """A rules file or fault header that cannot be used; the message says where and what to write."""


@dataclass(frozen=True, slots=True)
class _Pause:
    """A fault that only waits ``ms``; the subclasses differ in where the wait goes."""

    KIND: ClassVar[str]
    ms: float

    def label(self) -> str:
        return f"{self.KIND} ms={self.ms:g}"


@dataclass(frozen=True, slots=True)
class Latency(_Pause):
    """Wait ``ms`` before the request reaches the mock at all."""

    KIND: ClassVar[str] = "latency"


@dataclass(frozen=True, slots=True)
class SlowFirstToken(_Pause):
    """Wait ``ms`` after the status line, before the first event (or body) leaves."""

    KIND: ClassVar[str] = "slow_first_token"


@dataclass(frozen=True, slots=True)
class SlowTokens(_Pause):
    """Wait ``ms`` before every event of a stream after the first."""

    KIND: ClassVar[str] = "slow_tokens"


def _retry_hint(retry_after: float | None) -> str:
    return f" retry_after={retry_after:g}" if retry_after is not None else ""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Answer 429 instead of the real answer (which stays unplayed for the retry)."""

    KIND: ClassVar[str] = "rate_limit"
    retry_after: float | None = None
    layout: HttpLayout | None = None

    def label(self) -> str:
        return f"429{_retry_hint(self.retry_after)}"


@dataclass(frozen=True, slots=True)
class ServerError:
    """Answer a 5xx instead of the real answer."""

    KIND: ClassVar[str] = "server_error"
    status: int = 500
    layout: HttpLayout | None = None
    retry_after: float | None = None

    def label(self) -> str:
        return f"{self.status}{_retry_hint(self.retry_after)}"


@dataclass(frozen=True, slots=True)
class Accepted:
    """Answer 202 + ``NVCF-REQID``; the status URL answers 202 ``polls`` times, then the real answer."""

    KIND: ClassVar[str] = "accepted"
    polls: int = 1

    def label(self) -> str:
        return f"202 polls={self.polls}"


@dataclass(frozen=True, slots=True)
class _BreakAfter:
    """A fault that spoils a stream once ``after`` good events have left; subclasses say how."""

    KIND: ClassVar[str]
    after: int = 1

    def label(self) -> str:
        return f"{self.KIND} after={self.after}"


@dataclass(frozen=True, slots=True)
class Cut(_BreakAfter):
    """Drop the connection after ``after`` events: no ``[DONE]``, the chunked body never ends."""

    KIND: ClassVar[str] = "cut"


@dataclass(frozen=True, slots=True)
class Malformed(_BreakAfter):
    """Send the event that follows ``after`` good ones cut in half, so its data is not JSON."""

    KIND: ClassVar[str] = "malformed"


@dataclass(frozen=True, slots=True)
class StreamError:
    """After ``after`` events, an in-stream error event in a NIM layout, then ``data: [DONE]``."""

    KIND: ClassVar[str] = "stream_error"
    after: int = 1
    layout: StreamLayout | None = None
    code: int = 500
    message: str | None = None

    def label(self) -> str:
        return f"stream_error after={self.after} code={self.code}"


Fault = (
    Latency | SlowFirstToken | SlowTokens | RateLimit | ServerError | Accepted | Cut | Malformed | StreamError
)


@dataclass(frozen=True, slots=True)
class Match:
    """Which requests a rule looks at; ``None`` means "any"."""

    method: str | None = None
    path: str | None = None
    model: str | None = None
    stream: bool | None = None

    @property
    def needs_body(self) -> bool:
        return self.model is not None or self.stream is not None


@dataclass(frozen=True, slots=True)
class When:
    """How often a rule fires among the requests it matches (counted from 1)."""

    every: int | None = None
    first: int | None = None
    probability: float | None = None

    def label(self) -> str:
        if self.every is not None:
            return f"every {self.every}"
        if self.first is not None:
            return f"first {self.first}"
        if self.probability is not None:
            return f"p={self.probability:g}"
        return "always"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    faults: tuple[Fault, ...]
    match: Match = field(default_factory=Match)
    when: When = field(default_factory=When)


@dataclass(frozen=True, slots=True)
class FaultRules:
    """A parsed rules file: the rules in order and the seed that makes fractions reproducible."""

    rules: tuple[Rule, ...] = ()
    seed: int = 0

    @property
    def needs_body(self) -> bool:
        return any(rule.match.needs_body for rule in self.rules)
