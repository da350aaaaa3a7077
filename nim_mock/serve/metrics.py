"""What the mock has done and what its server would report, as Prometheus text (``/metrics`` too).

Two kinds of numbers, both rendered by prometheus-client (the exposition format's reference
implementation, as NIM and vLLM use it) from one per-app :class:`~prometheus_client.CollectorRegistry`
(nothing process-wide, so two apps in one process never share a number):

- the mock's own, ``nim_mock_*``: which routes were hit with which status, how many requests a
  cassette answered and how many it did not, how many clients left mid-stream, injected faults,
  and how late events left compared with their recorded schedule (the replay lag);
- the engine's, under the names the identity's server uses, so a dashboard or an autoscaler built
  for the real server reads the mock: a NIM 1.x's (``num_requests_running``,
  ``prompt_tokens_total``, ``time_to_first_token_seconds``, ... labelled ``model_name``), vLLM
  0.32's for ``nim2`` (``vllm:num_requests_running``, ... labelled ``engine`` and ``model_name``,
  as the live target's ``/metrics`` shows), with the process and Python collectors both servers
  expose. The hosted gateway exposes none; its mock reports its own numbers only. Engine numbers
  count the chat and completions answers: tokens from their ``usage``, the time to the first byte
  and to the end.

Several worker processes (``nim-mock serve --workers N``) each have their own app, so each counts
only what it answered itself, and a scrape reads the one worker its connection reached. Their
numbers say so: with a :class:`WorkerLabel`, every ``nim_mock_*`` sample carries
``worker="<index>"``, ``nim_mock_workers`` tells how many workers share the port (sum a counter over
``worker`` for the server's total), and the engine samples carry ``engine="<index>"`` as vLLM's
engines do.
"""

from __future__ import annotations

import bisect
import functools
import math
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from nim_mock.serve.note import Usage
from nim_mock.serve.observed import NOTHING_OBSERVED, Observed
from nim_mock.serve.vllm_metrics import (
    HTTP_BUCKETS_S,
    LATENCY_BUCKETS_S,
    TOKEN_BUCKETS,
    EngineCounts,
    HttpCounts,
    vllm_families,
)

__all__ = [
    "LAG_BUCKETS_S",
    "METRICS_CONTENT_TYPE",
    "NIM1_NAMES",
    "VLLM_NAMES",
    "EngineNames",
    "Metrics",
    "WorkerLabel",
]

METRICS_CONTENT_TYPE = "text/plain; version=1.0.0; charset=utf-8"
"""prometheus-client's exposition media type, as vLLM 0.32 sends it."""


@dataclass(frozen=True, slots=True)
class EngineNames:
    """The engine metric names one server uses (``prefix`` + name) and whether it labels its engine."""

    prefix: str
    engine_label: bool
    cache_usage: str
    """vLLM 0.x called it ``gpu_cache_usage_perc``; vLLM 0.32 ``kv_cache_usage_perc``."""


NIM1_NAMES: Final = EngineNames("", False, "gpu_cache_usage_perc")
VLLM_NAMES: Final = EngineNames("vllm:", True, "kv_cache_usage_perc")

LAG_BUCKETS_S: tuple[float, ...] = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
"""Upper bounds (seconds) of the replay-lag histogram; sub-millisecond first, since that is the goal."""


_PENDING_KEPT: Final = 4096
"""Requests queued before they are counted into the tables (see ``Metrics.request_done``), so a
server nobody scrapes holds bounded memory."""

_STARTED: Final = "started"
_FINISHED: Final = "finished"
_MATCHED: Final = "matched"
_UNMATCHED: Final = "unmatched"
_DISCONNECTED: Final = "disconnected"

_Finished = tuple[str, str, int, int, int, float, Usage | None, float]
"""A finished request as queued: method, route, status, request and response bytes, seconds,
the answer's usage (chat and completions) and the time to its first byte."""
_Pending = _Finished | str
"""What the queue holds: finished requests, and the marks above."""
_Key = TypeVar("_Key", bound=Hashable)


def _in_order_by(keys: Sequence[_Key], values: Sequence[float]) -> dict[_Key, Sequence[float]]:
    """``values`` grouped by the key at the same place in ``keys``, each group in order. A batch
    with one key throughout (a load test's usual one) is passed through without a Python loop."""
    if not keys:
        return {}
    first = keys[0]
    if keys.count(first) == len(keys):
        return {first: values}
    grouped: defaultdict[_Key, list[float]] = defaultdict(list)
    for key, value in zip(keys, values, strict=True):
        grouped[key].append(value)
    return dict(grouped)


def _handler(route: str) -> str:
    """The ``handler`` label of vLLM's HTTP metrics for a route (``none`` where no route matched)."""
    return "none" if route == "unknown" else route


def _series(bounds: Sequence[float]) -> defaultdict[Any, Observed]:
    """A table of series by label, each started empty with ``bounds`` on first use."""
    return defaultdict(functools.partial(Observed, bounds))


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


@dataclass(slots=True)
class _Engine:
    """What the engine metrics count, per model."""

    prompt_tokens: Counter[str] = field(default_factory=Counter)
    generation_tokens: Counter[str] = field(default_factory=Counter)
    success: Counter[tuple[str, str]] = field(default_factory=Counter)
    prompt_sizes: defaultdict[str, Observed] = field(default_factory=lambda: _series(TOKEN_BUCKETS))
    generation_sizes: defaultdict[str, Observed] = field(default_factory=lambda: _series(TOKEN_BUCKETS))
    first_token_s: defaultdict[str, Observed] = field(default_factory=lambda: _series(LATENCY_BUCKETS_S))
    e2e_s: defaultdict[str, Observed] = field(default_factory=lambda: _series(LATENCY_BUCKETS_S))


class Metrics:
    """Counters and histograms of one app. Safe to read from another thread (tests, benches).

    ``worker`` labels every sample with the worker process it counts for (see the module docstring);
    ``engine`` names the engine metrics of the server the app answers as (``None``: none).
    """

    def __init__(
        self, worker: WorkerLabel | None = None, engine: EngineNames | None = None, models: Sequence[str] = ()
    ) -> None:
        self._worker = worker
        self._engine_names = engine
        self._models = tuple(models)
        self._http: Counter[tuple[str, str, str]] = Counter()
        self._http_in: dict[str, tuple[int, int]] = {}
        self._http_out: dict[str, tuple[int, int]] = {}
        self._http_s: defaultdict[tuple[str, str], Observed] = _series(HTTP_BUCKETS_S)
        self._engine = _Engine()
        self._started = time.time()
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, int]] = Counter()
        self._pending: deque[_Pending] = deque()
        self._marks: Counter[str] = Counter()
        self._lag_counts = [0] * (len(LAG_BUCKETS_S) + 1)
        self._lag_sum = 0.0
        self._faults: Counter[str] = Counter()
        self._registry = CollectorRegistry(auto_describe=False)
        self._server_registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_Collected(self._mock_families))
        if engine is not None:  # both servers run prometheus-client's default collectors
            for registry in (self._registry, self._server_registry):
                registry.register(_ProcessAndPlatform())
                GCCollector(registry=registry)
                registry.register(_Collected(self._engine_families))

    # What every request does is queued, not counted: one append to a deque (thread-safe without a
    # lock, and popped from the other end without losing what is appended meanwhile) instead of a
    # lock and a dozen table updates; :meth:`_fold` counts the queue when the numbers are read, or
    # once it holds _PENDING_KEPT items. A load test repeats a few requests, so the fold counts each
    # distinct shape (method, route, status, sizes; model, tokens, finish reason) once per batch.

    def request_started(self) -> None:
        """An inference request arrived (the engine's running-requests gauge)."""
        self._pending.append(_STARTED)

    def request_finished(self) -> None:
        self._pending.append(_FINISHED)

    def matched(self) -> None:
        self._pending.append(_MATCHED)

    def unmatched(self) -> None:
        self._pending.append(_UNMATCHED)

    def disconnected(self) -> None:
        self._pending.append(_DISCONNECTED)

    def request_done(
        self,
        method: str,
        route: str,
        status: int,
        *,
        request_bytes: int = 0,
        response_bytes: int = 0,
        seconds: float = 0.0,
        answer: Usage | None = None,
        first_token_s: float = 0.0,
    ) -> None:
        """Count one finished request: by route and status, and its sizes and duration by handler.

        ``answer``: the usage of the chat or completions answer it got, counted for the engine
        metrics too, with ``first_token_s`` and ``seconds`` as its time to the first byte and to the
        end."""
        pending = self._pending
        pending.append((method, route, status, request_bytes, response_bytes, seconds, answer, first_token_s))
        if len(pending) >= _PENDING_KEPT:
            with self._lock:
                self._fold()

    def _running(self) -> int:
        """Inference requests under way (after a fold, under the lock)."""
        return self._marks[_STARTED] - self._marks[_FINISHED]

    def _fold(self) -> None:
        """Count what is queued into the tables a scrape reads (under the lock).

        The batch is split and transposed with C-level calls (``zip``, ``Counter``, ``tuple.count``):
        a Python loop over each queued item cost ~1.5 µs a request, a few percent of what a chat
        answer costs the whole server, and this ~0.9 µs."""
        pending = self._pending
        if not pending:
            return
        popleft = pending.popleft
        # What is queued now: what other threads append meanwhile waits for the next fold.
        batch = [popleft() for _ in range(len(pending))]
        done: list[_Finished] = [item for item in batch if type(item) is tuple]
        if len(done) < len(batch):
            self._marks.update([item for item in batch if type(item) is str])
        if not done:
            return
        methods, routes, statuses, request_sizes, response_sizes, seconds, answers, first_token = zip(
            *done, strict=True
        )
        shapes = Counter(zip(methods, routes, statuses, request_sizes, response_sizes, strict=True))
        for (method, route, status, request_bytes, response_bytes), n in shapes.items():
            handler = _handler(route)
            self._requests[(method, route, status)] += n
            self._http[(handler, method, f"{status // 100}xx")] += n
            for sizes, size in ((self._http_in, request_bytes), (self._http_out, response_bytes)):
                count, total = sizes.get(handler, (0, 0))
                sizes[handler] = (count + n, total + size * n)
        for (route, method), values in _in_order_by(
            tuple(zip(routes, methods, strict=True)), seconds
        ).items():
            self._http_s[(_handler(route), method)].add_each(values)
        if None in answers:
            answered = [
                (a, t, s) for a, t, s in zip(answers, first_token, seconds, strict=True) if a is not None
            ]
            if not answered:
                return
            answers, first_token, seconds = zip(*answered, strict=True)
        engine = self._engine
        models = tuple(answer.model for answer in answers)
        for model, values in _in_order_by(models, first_token).items():
            engine.first_token_s[model].add_each(values)
        for model, values in _in_order_by(models, seconds).items():
            engine.e2e_s[model].add_each(values)
        for (model, prompt_tokens, completion_tokens, finish_reason), n in Counter(answers).items():
            engine.prompt_tokens[model] += prompt_tokens * n
            engine.generation_tokens[model] += completion_tokens * n
            engine.success[(model, finish_reason)] += n
            engine.prompt_sizes[model].add(prompt_tokens, n)
            engine.generation_sizes[model].add(completion_tokens, n)

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
            self._fold()
            marks = self._marks
            return {
                "matched": marks[_MATCHED],
                "unmatched": marks[_UNMATCHED],
                "disconnects": marks[_DISCONNECTED],
                "lag_observations": sum(self._lag_counts),
            }

    def render(self, *, mock: bool = True) -> str:
        """The exposition text of every family, as prometheus-client writes it; without ``mock``,
        only the server's own (vLLM's ``/metrics`` has no ``nim_mock_*``), when it has any."""
        if not mock and self._engine_names is not None:
            return generate_latest(self._server_registry).decode("utf-8")
        return generate_latest(self._registry).decode("utf-8")

    def _mock_families(self) -> Iterator[Metric]:
        with self._lock:
            self._fold()
            requests = sorted(self._requests.items())
            marks = self._marks
            matched, unmatched, disconnects = marks[_MATCHED], marks[_UNMATCHED], marks[_DISCONNECTED]
            lag_counts, lag_sum = list(self._lag_counts), self._lag_sum
            faults = sorted(self._faults.items())
        worker = {"worker": str(self._worker.index)} if self._worker is not None else {}
        names = list(worker)
        if self._worker is not None:
            workers = GaugeMetricFamily(
                "nim_mock_workers",
                "Worker processes sharing this port; every number here is this worker's own.",
                labels=names,
            )
            workers.add_metric(list(worker.values()), self._worker.count)
            yield workers
        family = CounterMetricFamily(
            "nim_mock_requests",
            "HTTP requests answered, by method, route and status.",
            labels=[*names, "method", "route", "status"],
        )
        for (method, route, status), count in requests:
            family.add_metric([*worker.values(), method, route, str(status)], count)
        yield family
        for name, text, value in (
            ("nim_mock_replay_matched", "Requests a cassette interaction answered.", matched),
            ("nim_mock_replay_unmatched", "Requests no cassette interaction matched.", unmatched),
            ("nim_mock_stream_disconnects", "Streams the client left before the last event.", disconnects),
        ):
            counter = CounterMetricFamily(name, text, labels=names)
            counter.add_metric(list(worker.values()), value)
            yield counter
        lag = HistogramMetricFamily(
            "nim_mock_replay_lag_seconds",
            "How late events left versus their recorded schedule.",
            labels=names,
        )
        cumulative, buckets = 0, []
        for bound, count in zip((*LAG_BUCKETS_S, math.inf), lag_counts, strict=True):
            cumulative += count
            buckets.append((_format_bound(bound), cumulative))
        lag.add_metric(list(worker.values()), buckets, lag_sum)
        yield lag
        if faults:
            injected = CounterMetricFamily(
                "nim_mock_faults", "Injected faults that took effect, by kind.", labels=[*names, "kind"]
            )
            for kind, count in faults:
                injected.add_metric([*worker.values(), kind], count)
            yield injected

    def _engine_families(self) -> Iterator[Metric]:
        names = self._engine_names
        assert names is not None
        engine = self._engine
        with self._lock:
            self._fold()
            running = self._running()
            prompt, generation = dict(engine.prompt_tokens), dict(engine.generation_tokens)
            success = dict(engine.success)
            sizes = {
                "request_prompt_tokens": {m: v.copy() for m, v in engine.prompt_sizes.items()},
                "request_generation_tokens": {m: v.copy() for m, v in engine.generation_sizes.items()},
            }
            latencies = {
                "time_to_first_token_seconds": {m: v.copy() for m, v in engine.first_token_s.items()},
                "e2e_request_latency_seconds": {m: v.copy() for m, v in engine.e2e_s.items()},
            }
        models = list(dict.fromkeys((*self._models, *sorted({*prompt, *(model for model, _ in success)}))))
        if names is VLLM_NAMES:
            yield from self._vllm(models)
            return
        base = ["engine"] if names.engine_label else []
        engine_value = (
            [str(self._worker.index if self._worker is not None else 0)] if names.engine_label else []
        )
        p = names.prefix

        def gauge(name: str, text: str, value: float) -> Metric:
            family = GaugeMetricFamily(p + name, text, labels=[*base, "model_name"])
            for model in models or [""]:
                if model:
                    family.add_metric([*engine_value, model], value)
            return family

        yield gauge("num_requests_running", "Number of requests in model execution batches.", running)
        yield gauge("num_requests_waiting", "Number of requests waiting to be processed.", 0)
        yield gauge(names.cache_usage, "KV-cache usage. 1 means 100 percent usage.", 0)
        for name, text, counts in (
            ("prompt_tokens", "Number of prefill tokens processed.", prompt),
            ("generation_tokens", "Number of generation tokens processed.", generation),
        ):
            counter = CounterMetricFamily(p + name, text, labels=[*base, "model_name"])
            for model in models:
                counter.add_metric([*engine_value, model], counts.get(model, 0), created=self._started)
            yield counter
        done = CounterMetricFamily(
            p + "request_success",
            "Count of successfully processed requests.",
            labels=[*base, "finished_reason", "model_name"],
        )
        for (model, reason), count in sorted(success.items()):
            done.add_metric([*engine_value, reason, model], count, created=self._started)
        yield done
        for family_name, bounds, series in (
            *((name, TOKEN_BUCKETS, values) for name, values in sizes.items()),
            *((name, LATENCY_BUCKETS_S, values) for name, values in latencies.items()),
        ):
            histogram = HistogramMetricFamily(
                p + family_name, _HISTOGRAM_HELP[family_name], labels=[*base, "model_name"]
            )
            for model in models:
                observed = series.get(model, NOTHING_OBSERVED)
                buckets = [(_format_bound(bound), observed.at_most(bound)) for bound in bounds]
                buckets.append(("+Inf", observed.count))
                histogram.add_metric([*engine_value, model], buckets, observed.total)
            yield histogram

    def _vllm(self, models: Sequence[str]) -> Iterator[Metric]:
        engine = self._engine
        with self._lock:
            self._fold()
            counts = EngineCounts(
                running=self._running(),
                prompt_tokens=dict(engine.prompt_tokens),
                generation_tokens=dict(engine.generation_tokens),
                success=dict(engine.success),
                prompt_sizes={m: v.copy() for m, v in engine.prompt_sizes.items()},
                generation_sizes={m: v.copy() for m, v in engine.generation_sizes.items()},
                first_token_s={m: v.copy() for m, v in engine.first_token_s.items()},
                e2e_s={m: v.copy() for m, v in engine.e2e_s.items()},
            )
            http = HttpCounts(
                dict(self._http),
                dict(self._http_in),
                dict(self._http_out),
                {key: values.copy() for key, values in self._http_s.items()},
            )
        index = str(self._worker.index if self._worker is not None else 0)
        yield from vllm_families(counts, http, models, engine_index=index, started=self._started)


_HISTOGRAM_HELP: Final = {
    "request_prompt_tokens": "Number of prefill tokens processed.",
    "request_generation_tokens": "Number of generation tokens processed.",
    "time_to_first_token_seconds": "Histogram of time to first token in seconds.",
    "e2e_request_latency_seconds": "Histogram of e2e request latency in seconds.",
}


class _Collected(Collector):
    """A collector whose families a function yields at each scrape."""

    def __init__(self, families: Callable[[], Iterator[Metric]]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return self._families()


class _ProcessAndPlatform(Collector):
    """prometheus-client's process and platform collectors, built at the first scrape.

    Building them reads ``/proc`` and the platform, which an app that is never scraped (the pytest
    plugin builds one per mocked test) need not pay; a scrape shows the same families either way.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._collectors: tuple[Collector, ...] = ()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if not self._collectors:
                self._collectors = (ProcessCollector(registry=None), PlatformCollector(registry=None))
        for collector in self._collectors:
            yield from collector.collect()


def _format_bound(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(bound)
