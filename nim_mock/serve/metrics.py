"""What the mock has done, in Prometheus text exposition format (``GET /v1/metrics``).

A NIM exposes Prometheus metrics; the mock's own numbers answer the questions a CI run asks of a
replay server: which routes were hit with which status, how many requests a cassette answered and
how many it did not, how many clients left mid-stream, and how late events left compared with
their recorded schedule (the replay lag). The format is written by hand (it is a few lines of
text; https://prometheus.io/docs/instrumenting/exposition_formats/) instead of pulling in a client
library with process-wide registries. One :class:`Metrics` belongs to one app: nothing is global.

Several worker processes (``nim-mock serve --workers N``) each have their own app, so each counts
only what it answered itself, and a scrape reads the one worker its connection reached. Their
numbers say so: with a :class:`WorkerLabel`, every sample carries ``worker="<index>"`` and
``nim_mock_workers`` tells how many workers share the port (sum a counter over ``worker`` for the
server's total, once every worker has been scraped).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import Counter
from dataclasses import dataclass

__all__ = ["LAG_BUCKETS_S", "METRICS_CONTENT_TYPE", "Metrics", "WorkerLabel"]

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LAG_BUCKETS_S: tuple[float, ...] = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
"""Upper bounds (seconds) of the replay-lag histogram; sub-millisecond first, since that is the goal."""


@dataclass(frozen=True, slots=True)
class WorkerLabel:
    """Which of ``count`` worker processes sharing one port an app serves in (``index`` from 0)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"worker count must be at least 1, got {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"worker index must be in 0..{self.count - 1}, got {self.index}")


class Metrics:
    """Counters and the lag histogram of one app. Safe to read from another thread (tests, benches).

    ``worker`` labels every sample with the worker process it counts for (see the module docstring).
    """

    def __init__(self, worker: WorkerLabel | None = None) -> None:
        self._worker = worker
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, int]] = Counter()
        self._matched = 0
        self._unmatched = 0
        self._disconnects = 0
        self._lag_counts = [0] * (len(LAG_BUCKETS_S) + 1)
        self._lag_sum = 0.0
        self._faults: Counter[str] = Counter()

    def request_done(self, method: str, route: str, status: int) -> None:
        with self._lock:
            self._requests[(method, route, status)] += 1

    def matched(self) -> None:
        with self._lock:
            self._matched += 1

    def unmatched(self) -> None:
        with self._lock:
            self._unmatched += 1

    def disconnected(self) -> None:
        with self._lock:
            self._disconnects += 1

    def fault(self, kind: str) -> None:
        """Count one injected fault that took effect (``kind`` as in the faults rules file)."""
        with self._lock:
            self._faults[kind] += 1

    def observe_lag(self, seconds: float) -> None:
        """Record how late one event left (early sends count as 0: the scheduler never sends early)."""
        lag = max(seconds, 0.0)
        with self._lock:
            self._lag_counts[bisect.bisect_left(LAG_BUCKETS_S, lag)] += 1
            self._lag_sum += lag

    @property
    def counts(self) -> dict[str, int]:
        """The plain counters, for callers that want numbers rather than text."""
        with self._lock:
            return {
                "matched": self._matched,
                "unmatched": self._unmatched,
                "disconnects": self._disconnects,
                "lag_observations": sum(self._lag_counts),
            }

    def render(self) -> str:
        """The exposition text: HELP and TYPE lines, then samples sorted for a stable diff."""
        with self._lock:
            requests = sorted(self._requests.items())
            matched, unmatched, disconnects = self._matched, self._unmatched, self._disconnects
            lag_counts, lag_sum = list(self._lag_counts), self._lag_sum
            faults = sorted(self._faults.items())
        worker = {"worker": str(self._worker.index)} if self._worker is not None else {}
        plain = _braced(_labels(**worker))
        lines: list[str] = []
        if self._worker is not None:
            lines += [
                "# HELP nim_mock_workers Worker processes sharing this port; every number here is this"
                " worker's own.",
                "# TYPE nim_mock_workers gauge",
                f"nim_mock_workers{plain} {self._worker.count}",
            ]
        lines += [
            "# HELP nim_mock_requests_total HTTP requests answered, by method, route and status.",
            "# TYPE nim_mock_requests_total counter",
        ]
        for (method, route, status), count in requests:
            labels = _labels(**worker, method=method, route=route, status=str(status))
            lines.append(f"nim_mock_requests_total{{{labels}}} {count}")
        lines += [
            "# HELP nim_mock_replay_matched_total Requests a cassette interaction answered.",
            "# TYPE nim_mock_replay_matched_total counter",
            f"nim_mock_replay_matched_total{plain} {matched}",
            "# HELP nim_mock_replay_unmatched_total Requests no cassette interaction matched.",
            "# TYPE nim_mock_replay_unmatched_total counter",
            f"nim_mock_replay_unmatched_total{plain} {unmatched}",
            "# HELP nim_mock_stream_disconnects_total Streams the client left before the last event.",
            "# TYPE nim_mock_stream_disconnects_total counter",
            f"nim_mock_stream_disconnects_total{plain} {disconnects}",
            "# HELP nim_mock_replay_lag_seconds How late events left versus their recorded schedule.",
            "# TYPE nim_mock_replay_lag_seconds histogram",
        ]
        cumulative = 0
        for bound, count in zip((*LAG_BUCKETS_S, math.inf), lag_counts, strict=True):
            cumulative += count
            labels = _labels(**worker, le=_format_bound(bound))
            lines.append(f"nim_mock_replay_lag_seconds_bucket{{{labels}}} {cumulative}")
        lines.append(f"nim_mock_replay_lag_seconds_sum{plain} {lag_sum!r}")
        lines.append(f"nim_mock_replay_lag_seconds_count{plain} {cumulative}")
        if faults:
            lines += [
                "# HELP nim_mock_faults_total Injected faults that took effect, by kind.",
                "# TYPE nim_mock_faults_total counter",
            ]
            lines += [
                f"nim_mock_faults_total{{{_labels(**worker, kind=kind)}}} {count}" for kind, count in faults
            ]
        return "\n".join(lines) + "\n"


def _format_bound(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(bound)


def _braced(labels: str) -> str:
    return f"{{{labels}}}" if labels else ""


def _labels(**values: str) -> str:
    return ",".join(f'{name}="{_escape(value)}"' for name, value in values.items())


def _escape(value: str) -> str:
    """Label values escape backslash, double quote and newline (exposition format rules)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
