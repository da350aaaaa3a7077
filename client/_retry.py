"""The retry and polling policy, pure: what to do after one response or failure.

Why pure: the sync and async transports must behave identically, and the policy is where the
subtle cases live (Retry-After as seconds or as an HTTP date, a 202 on the hosted gateway, the
last allowed attempt). :func:`decide` and :func:`decide_failure` read only their arguments and
the injected clock and jitter in :class:`~nim_harness._http_settings.HTTPSettings`, so tests call them
directly. :class:`Exchange` strings the decisions of one call together (retry budget, polling
deadline, the request to send next); the I/O shells in ``_http`` are left to sleep and send.

Policy:
- 429 and 500/502/503/504 are retried up to ``max_retries`` times with exponential backoff and
  full jitter (``uniform(0, min(backoff_max, backoff_base * 2**attempt))``, the AWS scheme that
  spreads a thundering herd best). A ``Retry-After`` (or ``retry-after-ms``) header replaces the
  backoff, capped at ``retry_after_max``.
- Other 4xx are never retried: the same request would fail the same way.
- Connection failures and timeouts are retried like a 503; errors we caused ourselves (an
  unsupported URL scheme, an invalid header) are not.
- 202 + ``NVCF-REQID`` means "accepted, poll for the result" (the hosted NVCF gateway); a 202
  without that header cannot be followed up and is a :class:`ResponseFormatError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Protocol

import httpx

from ._error_text import header, parse_retry_after_seconds
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    NVIDIAError,
    RateLimitError,
    ResponseFormatError,
    error_from_response,
)
from ._polling import PollDeadline, polling_url

if TYPE_CHECKING:
    from ._http_settings import HTTPSettings


class StreamProgress(Protocol):
    """What the planner needs to know about a stream that failed part-way."""

    @property
    def count(self) -> int: ...

    @property
    def request_id(self) -> str | None: ...


__all__ = [
    "RETRY_STATUSES",
    "Decision",
    "Done",
    "Exchange",
    "Fail",
    "Poll",
    "Retry",
    "Send",
    "StreamProgress",
    "backoff_delay",
    "decide",
    "decide_failure",
    "retry_after_delay",
]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Retry:
    """Send the same request again after ``delay`` seconds."""

    delay: float
    reason: str


@dataclass(frozen=True, slots=True)
class Poll:
    """The request was accepted; GET ``url`` for the result (``request_id`` is the NVCF-REQID)."""

    url: str
    request_id: str


@dataclass(frozen=True, slots=True)
class Fail:
    """Give up and raise ``error``."""

    error: NVIDIAError


@dataclass(frozen=True, slots=True)
class Done:
    """The response is the answer: hand it to the caller."""


Decision = Retry | Poll | Fail | Done


def decide(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    attempt: int,
    settings: HTTPSettings,
    *,
    polling_id: str | None = None,
) -> Decision:
    """Decide what follows a response with ``status``.

    ``attempt`` is how many retries were already spent (0 for the first try); ``body`` only
    matters for errors (pass ``b""`` for a success); ``polling_id`` is the NVCF-REQID already
    being polled, since the gateway need not repeat the header on each 202.
    """
    if status == 202:
        request_id = header(headers, "nvcf-reqid") or polling_id
        if not request_id:
            return Fail(
                ResponseFormatError(
                    "202 Accepted without an NVCF-REQID header, so there is no request to poll",
                    status=202,
                    request_id=header(headers, "x-request-id"),
                    hint="Only the hosted NVCF gateway answers 202; check that base_url points at it or "
                    "at a NIM, not at a proxy that strips headers.",
                )
            )
        return Poll(url=polling_url(settings.polling_base, request_id), request_id=request_id)
    if 200 <= status < 300:
        return Done()
    if status in RETRY_STATUSES and attempt < settings.max_retries:
        delay = retry_after_delay(headers, settings)
        if delay is None:
            delay = backoff_delay(attempt, settings)
        return Retry(delay=delay, reason=f"HTTP {status}")
    error = error_from_response(status, headers, body)
    error.retries = attempt
    if isinstance(error, RateLimitError) and error.retry_after is None:
        error.retry_after = retry_after_delay(headers, settings)
    if type(error) is AuthenticationError and not (settings.api_key or "").strip():
        error.hint_override = (
            "No API key was sent: set NVIDIA_API_KEY or pass api_key=... (a self-hosted NIM needs "
            "none; then check that base_url points at it rather than at the hosted API)."
        )
    return Fail(error)


def decide_failure(error: httpx.RequestError, attempt: int, settings: HTTPSettings) -> Retry | Fail:
    """Decide what follows a request that got no (complete) response at all."""
    url = _url_of(error)
    if isinstance(error, httpx.TimeoutException):
        mapped: NVIDIAError = APITimeoutError(
            f"{type(error).__name__} after {_describe_timeout(settings.timeout)} on {url}: {error}".rstrip(
                ": "
            )
        )
    elif isinstance(error, httpx.UnsupportedProtocol | httpx.LocalProtocolError | httpx.DecodingError):
        # Our side is wrong (scheme, header bytes) or the body is corrupt: a retry cannot help.
        cls = ResponseFormatError if isinstance(error, httpx.DecodingError) else APIConnectionError
        return Fail(cls(f"{type(error).__name__} on {url}: {error}"))
    else:
        mapped = APIConnectionError(f"{type(error).__name__} on {url}: {error}".rstrip(": "))
    if attempt < settings.max_retries:
        return Retry(delay=backoff_delay(attempt, settings), reason=type(error).__name__)
    mapped.retries = attempt
    return Fail(mapped)


def backoff_delay(attempt: int, settings: HTTPSettings) -> float:
    """Full jitter: a uniform draw below the exponential ceiling for this attempt."""
    ceiling = min(settings.backoff_max, settings.backoff_base * (2.0 ** min(attempt, 62)))
    return max(0.0, ceiling * settings.jitter())


def retry_after_delay(headers: Mapping[str, str], settings: HTTPSettings) -> float | None:
    """Seconds to wait as the server asked (``retry-after-ms``, ``Retry-After`` seconds or date).

    Capped at ``settings.retry_after_max`` so a server cannot park the caller for an hour;
    ``None`` when the server gave no usable hint.
    """
    seconds = parse_retry_after_seconds(headers)
    raw = header(headers, "retry-after")
    if seconds is None and raw is not None:
        try:
            when = parsedate_to_datetime(raw.strip())
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            seconds = max(0.0, when.timestamp() - settings.now())
    if seconds is None:
        return None
    return min(seconds, settings.retry_after_max)


def _describe_timeout(timeout: float | None) -> str:
    return f"{timeout:g}s" if timeout is not None else "the client's timeout"


def _url_of(error: httpx.RequestError) -> str:
    try:
        return str(error.request.url)
    except RuntimeError:  # raised when the error carries no request
        return "the server"


@dataclass(frozen=True, slots=True)
class Send:
    """One HTTP request to make, after sleeping ``delay`` seconds."""

    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    delay: float = 0.0


class Exchange:
    """Plans one logical call: the first request, each retry and poll, and when to give up.

    No I/O: the shells report what happened (:meth:`on_response`, :meth:`on_failure`) and get the
    next :class:`Send`, ``None`` (the response is the answer), or a raised :class:`NVIDIAError`.
    One instance per call; nothing is shared between calls.
    """

    def __init__(self, settings: HTTPSettings, first: Send) -> None:
        self.settings = settings
        self.first = first
        self._current = first
        self._attempt = 0
        self._deadline: PollDeadline | None = None

    def on_response(self, status: int, headers: Mapping[str, str], body: bytes) -> Send | None:
        polling_id = self._deadline.request_id if self._deadline else None
        decision = decide(status, headers, body, self._attempt, self.settings, polling_id=polling_id)
        if isinstance(decision, Done):
            return None
        if isinstance(decision, Retry):
            self._attempt += 1
            return replace(self._current, delay=decision.delay)
        if isinstance(decision, Poll):
            now = self.settings.clock()
            if self._deadline is None:
                self._deadline = PollDeadline(decision.request_id, now, self.settings.timeout)
            delay = self._deadline.next_delay(now, self.settings.poll_interval)
            self._attempt = 0  # the service is alive and working on it: a fresh retry budget
            self._current = Send("GET", decision.url, self.first.headers, None, delay)
            return self._current
        raise decision.error

    def on_failure(self, error: httpx.RequestError, reader: StreamProgress | None = None) -> Send:
        """A request that got no complete response; a stream is retried only before its first event.

        Once events have reached the caller a retry would repeat them, so the failure is raised.
        """
        if reader is not None and reader.count:
            if isinstance(error, httpx.TimeoutException):
                raise APITimeoutError(
                    f"the stream stalled after {reader.count} event(s): {type(error).__name__} "
                    f"(no data within the read timeout)",
                    request_id=reader.request_id,
                ) from error
            raise APIConnectionError(
                f"the connection dropped after {reader.count} event(s) of the stream "
                f"({type(error).__name__}: {error})".replace(": )", ")"),
                request_id=reader.request_id,
            ) from error
        decision = decide_failure(error, self._attempt, self.settings)
        if isinstance(decision, Fail):
            raise decision.error from error
        self._attempt += 1
        return replace(self._current, delay=decision.delay)
