"""Pacing: events leave at ``start + t_ms * speed``, incrementally, without drift.

Real-time checks are loose on purpose (order and rough gaps only); the exact no-drift property is
shown on a fake clock, where oversleeping is drawn by hypothesis.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from nim_mock.cassette import Event
from nim_mock.serve.replay import paced


class FakeClock:
    """A clock whose every sleep overshoots by the next drawn amount, like a busy event loop."""

    def __init__(self, overshoots: list[float]) -> None:
        self.time = 100.0
        self._overshoots = overshoots
        self.sleeps = 0

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        extra = self._overshoots[self.sleeps % len(self._overshoots)] if self._overshoots else 0.0
        self.sleeps += 1
        self.time += seconds + extra


offsets = st.lists(st.floats(min_value=0, max_value=5_000, allow_nan=False), min_size=1, max_size=30).map(
    sorted
)


@settings(max_examples=60)
@given(
    offsets,
    st.lists(st.floats(min_value=0, max_value=0.05), max_size=10),
    st.sampled_from([0.5, 1.0, 2.0]),
)
def test_events_leave_at_absolute_deadlines_so_lateness_never_accumulates(
    t_ms: list[float], overshoots: list[float], speed: float
) -> None:
    clock = FakeClock(overshoots)
    events = [Event(t, b"data: x\n\n") for t in t_ms]
    worst = max(overshoots, default=0.0)

    async def collect() -> list[tuple[float, float | None]]:
        return [
            (clock.now(), deadline)
            async for _, deadline in paced(events, start=100.0, speed=speed, clock=clock)
        ]

    sent = asyncio.run(collect())
    for (at, deadline), event in zip(sent, events, strict=True):
        assert deadline == 100.0 + event.t_ms * speed / 1000.0
        assert deadline <= at <= deadline + worst + 1e-9  # late by at most one overshoot, never more


def test_speed_zero_never_touches_the_clock() -> None:
    clock = FakeClock([1.0])
    events = [Event(t, b"data: x\n\n") for t in (0.0, 500.0, 10_000.0)]

    async def collect() -> list[float | None]:
        return [deadline async for _, deadline in paced(events, start=0.0, speed=0.0, clock=clock)]

    assert asyncio.run(collect()) == [None, None, None]
    assert clock.sleeps == 0


def _arrivals(base_url: str, body: dict[str, object]) -> tuple[float, list[tuple[float, bytes]]]:
    """When each chunk reached the client, in seconds after the request was sent."""
    arrivals: list[tuple[float, bytes]] = []
    with httpx.Client(timeout=10.0) as client:
        started = time.monotonic()
        with client.stream("POST", base_url + "/v1/chat/completions", json=body) as response:
            for chunk in response.iter_raw():
                arrivals.append((time.monotonic() - started, chunk))
    return started, arrivals


def test_speed_one_keeps_recorded_order_and_rough_gaps(serve, build) -> None:
    body = build.chat_body("slow", stream=True)
    events = build.sse([(0.0, "a"), (300.0, "b"), (600.0, "c")], done_at=600.0)
    base_url = serve([build.cassette("slow", (build.post(body), build.stream_response(events)))], speed=1.0)
    _, arrivals = _arrivals(base_url, body)
    received = b"".join(chunk for _, chunk in arrivals)
    assert received == b"".join(event.raw for event in events)
    when = {
        text: next(t for t, chunk in arrivals if f'"content":"{text}"'.encode() in chunk) for text in "abc"
    }
    assert when["a"] < when["b"] < when["c"]
    assert when["b"] - when["a"] >= 0.2  # recorded 300 ms
    assert when["c"] - when["b"] >= 0.2


def test_first_event_arrives_long_before_the_last_is_sent(serve, build) -> None:
    body = build.chat_body("incremental", stream=True)
    events = build.sse([(0.0, "first"), (1000.0, "last")])
    base_url = serve([build.cassette("gap", (build.post(body), build.stream_response(events)))], speed=1.0)
    _, arrivals = _arrivals(base_url, body)
    first = next(t for t, chunk in arrivals if b'"content":"first"' in chunk)
    last = next(t for t, chunk in arrivals if b'"content":"last"' in chunk)
    assert first < 0.5
    assert last >= 0.8


def test_speed_two_stretches_the_wait_for_recorded_headers(serve, build, http) -> None:
    body = build.chat_body("headers")
    recorded = build.json_response({"ok": True})
    slow_headers = type(recorded)(recorded.status, recorded.headers, recorded.body, t_headers_ms=200.0)
    base_url = serve([build.cassette("late", (build.post(body), slow_headers))], speed=2.0)
    started = time.monotonic()
    response = http.post(base_url + "/v1/chat/completions", json=body)
    assert response.json() == {"ok": True}
    assert time.monotonic() - started >= 0.3  # 200 ms recorded, times 2


def test_replay_lag_is_exported_as_a_histogram(serve, build, http) -> None:
    body = build.chat_body("lag", stream=True)
    events = build.sse([(0.0, "a"), (20.0, "b")])
    base_url = serve([build.cassette("lag", (build.post(body), build.stream_response(events)))], speed=1.0)
    http.post(base_url + "/v1/chat/completions", json=body)
    metrics = http.get(base_url + "/v1/metrics").text
    assert build.metric_value(metrics, "nim_mock_replay_lag_seconds_count") == len(events)
    assert build.metric_value(metrics, 'nim_mock_replay_lag_seconds_bucket{le="+Inf"}') == len(events)
