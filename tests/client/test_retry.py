"""The pure retry/poll policy: decide() and decide_failure() called directly, no HTTP at all."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nim_harness._errors import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
)
from nim_harness._http import HTTPSettings
from nim_harness._retry import (
    RETRY_STATUSES,
    Done,
    Exchange,
    Fail,
    Poll,
    Retry,
    Send,
    backoff_delay,
    decide,
    decide_failure,
    retry_after_delay,
)

NOW = 1_800_000_000.0


def make_settings(**overrides: object) -> HTTPSettings:
    values: dict[str, object] = {
        "base_url": "http://127.0.0.1:9/v1",
        "api_key": None,
        "timeout": 5.0,
        "max_retries": 2,
        "default_headers": {},
        "jitter": lambda: 1.0,
        "now": lambda: NOW,
    }
    values.update(overrides)
    return HTTPSettings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [200, 201, 204])
def test_success_is_done(status: int) -> None:
    assert decide(status, {}, b"", 0, make_settings()) == Done()


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES))
def test_retryable_statuses_retry_with_backoff(status: int) -> None:
    decision = decide(status, {}, b"", 0, make_settings())
    assert decision == Retry(delay=0.5, reason=f"HTTP {status}")
    assert decide(status, {}, b"", 1, make_settings()) == Retry(delay=1.0, reason=f"HTTP {status}")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, Exception),
        (403, Exception),
        (404, NotFoundError),
        (409, BadRequestError),
        (422, BadRequestError),
        (501, ServerError),
        (505, ServerError),
    ],
)
def test_other_errors_fail_at_once(status: int, cls: type[Exception]) -> None:
    decision = decide(status, {}, b'{"detail":"no"}', 0, make_settings(max_retries=5))
    assert isinstance(decision, Fail)
    assert isinstance(decision.error, cls)
    assert decision.error.status == status
    assert decision.error.retries == 0


def test_retries_exhausted_fail_with_the_typed_error() -> None:
    decision = decide(429, {}, b'{"status":429,"title":"Too Many Requests"}', 2, make_settings())
    assert isinstance(decision, Fail)
    assert isinstance(decision.error, RateLimitError)
    assert decision.error.retries == 2
    assert "gave up after 2 retries" in str(decision.error)


def test_max_retries_zero_never_retries() -> None:
    assert isinstance(decide(503, {}, b"", 0, make_settings(max_retries=0)), Fail)


def test_retry_after_seconds_is_used_as_the_delay() -> None:
    decision = decide(429, {"Retry-After": "3"}, b"", 0, make_settings())
    assert decision == Retry(delay=3.0, reason="HTTP 429")


def test_retry_after_ms_wins_over_seconds() -> None:
    assert retry_after_delay({"retry-after-ms": "250", "retry-after": "9"}, make_settings()) == 0.25


def test_retry_after_http_date() -> None:
    when = datetime.fromtimestamp(NOW + 4, tz=UTC)
    assert retry_after_delay({"Retry-After": format_datetime(when, usegmt=True)}, make_settings()) == 4.0


def test_retry_after_date_in_the_past_means_now() -> None:
    when = datetime.fromtimestamp(NOW - 100, tz=UTC)
    assert retry_after_delay({"Retry-After": format_datetime(when, usegmt=True)}, make_settings()) == 0.0


def test_retry_after_is_capped() -> None:
    assert retry_after_delay({"Retry-After": "3600"}, make_settings(retry_after_max=30.0)) == 30.0


@pytest.mark.parametrize("value", ["soon", "", "-1", "nan", "inf", "Mon, 99 Foo 2026"])
def test_unusable_retry_after_falls_back_to_backoff(value: str) -> None:
    assert retry_after_delay({"Retry-After": value}, make_settings()) is None
    assert decide(503, {"Retry-After": value}, b"", 0, make_settings()) == Retry(0.5, "HTTP 503")


def test_exhausted_rate_limit_reports_retry_after() -> None:
    decision = decide(429, {"Retry-After": "12"}, b"", 2, make_settings())
    assert isinstance(decision, Fail)
    assert isinstance(decision.error, RateLimitError)
    assert decision.error.retry_after == 12.0


def test_202_with_reqid_polls_the_status_url() -> None:
    decision = decide(202, {"NVCF-REQID": "abc-123"}, b"{}", 0, make_settings())
    assert decision == Poll(
        url="https://api.nvcf.nvidia.com/v2/nvcf/pexec/status/abc-123", request_id="abc-123"
    )


def test_202_on_a_custom_polling_base_quotes_the_id() -> None:
    settings = make_settings(polling_base="http://127.0.0.1:9/status")
    decision = decide(202, {"nvcf-reqid": "a/b?c"}, b"", 0, settings)
    assert decision == Poll(url="http://127.0.0.1:9/status/a%2Fb%3Fc", request_id="a/b?c")


def test_202_while_polling_reuses_the_known_id() -> None:
    decision = decide(202, {}, b"", 0, make_settings(), polling_id="known")
    assert isinstance(decision, Poll)
    assert decision.request_id == "known"


def test_202_without_reqid_is_a_format_error() -> None:
    decision = decide(202, {"x-request-id": "r9"}, b"{}", 0, make_settings())
    assert isinstance(decision, Fail)
    assert isinstance(decision.error, ResponseFormatError)
    assert "NVCF-REQID" in str(decision.error)
    assert decision.error.request_id == "r9"


def _request() -> httpx.Request:
    return httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


def test_connection_errors_are_retried_then_fail() -> None:
    error = httpx.ConnectError("refused", request=_request())
    assert decide_failure(error, 0, make_settings()) == Retry(delay=0.5, reason="ConnectError")
    decision = decide_failure(error, 2, make_settings())
    assert isinstance(decision, Fail)
    assert type(decision.error) is APIConnectionError
    assert "127.0.0.1:9/v1/chat/completions" in str(decision.error)
    assert decision.error.retries == 2


def test_timeouts_map_to_api_timeout_error() -> None:
    decision = decide_failure(httpx.ReadTimeout("slow", request=_request()), 2, make_settings())
    assert isinstance(decision, Fail)
    assert isinstance(decision.error, APITimeoutError)
    assert "5s" in str(decision.error)


@pytest.mark.parametrize(
    "error",
    [
        httpx.UnsupportedProtocol("no scheme", request=_request()),
        httpx.LocalProtocolError("bad header", request=_request()),
        httpx.DecodingError("bad gzip", request=_request()),
    ],
)
def test_our_own_mistakes_are_not_retried(error: httpx.RequestError) -> None:
    assert isinstance(decide_failure(error, 0, make_settings(max_retries=5)), Fail)


@given(attempt=st.integers(0, 200), jitter=st.floats(0.0, 1.0, exclude_max=True))
def test_full_jitter_backoff_stays_within_its_ceiling(attempt: int, jitter: float) -> None:
    settings = make_settings(jitter=lambda: jitter, backoff_base=0.5, backoff_max=8.0)
    delay = backoff_delay(attempt, settings)
    assert 0.0 <= delay <= min(8.0, 0.5 * 2**attempt)


def test_backoff_grows_exponentially_to_the_cap() -> None:
    settings = make_settings()
    assert [backoff_delay(attempt, settings) for attempt in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


# --- the planner: one call's decisions strung together, still without any I/O ---------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Progress:
    def __init__(self, count: int, request_id: str | None = None) -> None:
        self.count = count
        self.request_id = request_id


FIRST = Send("POST", "http://127.0.0.1:9/v1/chat/completions", {"Accept": "application/json"}, b"{}")


def test_exchange_retries_then_polls_then_delivers() -> None:
    clock = FakeClock()
    settings = make_settings(clock=clock, poll_interval=0.25, polling_base="http://127.0.0.1:9/s/")
    exchange = Exchange(settings, FIRST)
    assert exchange.on_response(503, {}, b"") == replace(FIRST, delay=0.5)
    poll = exchange.on_response(202, {"NVCF-REQID": "q"}, b"{}")
    assert poll == Send("GET", "http://127.0.0.1:9/s/q", FIRST.headers, None, 0.25)
    assert exchange.on_response(503, {}, b"") == replace(poll, delay=0.5)  # the poll is what is retried
    clock.now += 1
    assert exchange.on_response(202, {}, b"") == poll  # the id is remembered between polls
    assert exchange.on_response(200, {}, b"") is None


def test_exchange_poll_deadline_counts_from_the_first_202() -> None:
    clock = FakeClock()
    exchange = Exchange(make_settings(clock=clock, timeout=1.0, poll_interval=0.25), FIRST)
    exchange.on_response(202, {"NVCF-REQID": "q"}, b"")
    clock.now += 0.75
    exchange.on_response(202, {}, b"")
    clock.now += 0.25
    with pytest.raises(APITimeoutError, match="q"):
        exchange.on_response(202, {}, b"")


def test_exchange_raises_the_typed_error() -> None:
    with pytest.raises(NotFoundError):
        Exchange(make_settings(), FIRST).on_response(404, {}, b"")


def test_exchange_retries_a_failure_before_the_first_event_only() -> None:
    error = httpx.ReadError("reset", request=_request())
    assert Exchange(make_settings(), FIRST).on_failure(error, Progress(0)) == replace(FIRST, delay=0.5)
    with pytest.raises(APIConnectionError, match="after 3 event") as info:
        Exchange(make_settings(), FIRST).on_failure(error, Progress(3, "rid"))
    assert info.value.request_id == "rid"
    with pytest.raises(APITimeoutError, match="stalled after 1 event"):
        Exchange(make_settings(), FIRST).on_failure(
            httpx.ReadTimeout("slow", request=_request()), Progress(1)
        )


def test_exchange_retry_budget_is_shared_by_responses_and_failures() -> None:
    exchange = Exchange(make_settings(max_retries=2), FIRST)
    exchange.on_response(502, {}, b"")
    exchange.on_failure(httpx.ConnectError("refused", request=_request()))
    with pytest.raises(ServerError, match="gave up after 2 retries"):
        exchange.on_response(502, {}, b"")


@given(status=st.integers(400, 499).filter(lambda status: status != 429), attempt=st.integers(0, 5))
def test_no_4xx_but_429_is_ever_retried(status: int, attempt: int) -> None:
    decision = decide(status, {"Retry-After": "1"}, b"", attempt, make_settings(max_retries=10))
    assert isinstance(decision, Fail)
    assert decision.error.status == status


@given(
    status=st.sampled_from(sorted(RETRY_STATUSES)),
    attempt=st.integers(0, 9),
    retry_after=st.one_of(st.none(), st.integers(0, 10_000).map(str), st.text(max_size=8)),
    jitter=st.floats(0.0, 1.0, exclude_max=True),
)
def test_retry_delays_are_bounded(status: int, attempt: int, retry_after: str | None, jitter: float) -> None:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    settings = make_settings(max_retries=10, jitter=lambda: jitter, retry_after_max=30.0)
    decision = decide(status, headers, b"", attempt, settings)
    assert isinstance(decision, Retry)
    assert 0.0 <= decision.delay <= 30.0


def test_401_without_a_key_says_none_was_sent() -> None:
    decision = decide(401, {}, b"", 0, make_settings(api_key=None))
    assert isinstance(decision, Fail)
    assert "No API key was sent" in str(decision.error)
    with_key = decide(401, {}, b"", 0, make_settings(api_key="nvapi-x"))
    assert isinstance(with_key, Fail)
    assert "No API key was sent" not in str(with_key.error)
    assert "NVIDIA_API_KEY" in str(with_key.error)
