"""vLLM 0.32's metric families, as its ``/metrics`` lists them, for the ``nim2`` identity.

A scraper, a dashboard or an autoscaler written for vLLM looks its families up by name, so a
``nim2`` mock exposes every ``vllm:*`` family the live target (``../shared/live-target-vllm``)
exposes, with its type, help text and labels (``engine``, ``model_name`` and the family's own),
and the ``http_*`` families of the request instrumentation vLLM's server carries. What the mock
does happen to know is counted for real: running requests, prompt and generation tokens, finished
requests by reason, the per-request token and latency histograms, and HTTP requests by handler,
method and status class with their sizes and durations. What no mock has (prefix caches, KV
transfer, preemptions, FLOPs) stays at zero, as on an idle server. Counters and histograms carry
their ``_created`` series, as prometheus-client writes them for vLLM.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.samples import Sample

from nim_mock.serve.observed import NOTHING_OBSERVED, Observed

__all__ = [
    "HTTP_BUCKETS_S",
    "LATENCY_BUCKETS_S",
    "TOKEN_BUCKETS",
    "EngineCounts",
    "HttpCounts",
    "vllm_families",
]

_TOKENS: Final = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0)
_SECONDS: Final = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
_HTTP_SECONDS: Final = (0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)
_HTTP_COARSE: Final = (0.1, 0.5, 1.0)
TOKEN_BUCKETS: Final = _TOKENS
"""vLLM's buckets for per-request token counts (NIM 1.x's engine metrics use them too)."""
LATENCY_BUCKETS_S: Final = _SECONDS
"""Seconds buckets for the time to the first token and to the end of a request (both servers)."""
HTTP_BUCKETS_S: Final = (*_HTTP_SECONDS, *_HTTP_COARSE)
"""Every bound vLLM's two HTTP duration histograms use."""
_SIZE_HELP: Final = "Content length of {} by handler. Only value of header is respected."

_ZERO_COUNTERS: Final = (
    (
        "estimated_flops_per_gpu",
        "Estimated floating point operations per GPU (for Model Flops Utilization).",
    ),
    (
        "estimated_read_bytes_per_gpu",
        "Estimated bytes read from memory per GPU (for Model Flops Utilization).",
    ),
    (
        "estimated_write_bytes_per_gpu",
        "Estimated bytes written to memory per GPU (for Model Flops Utilization).",
    ),
)
_CACHE_COUNTERS: Final = (
    ("prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens."),
    ("prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens."),
    (
        "external_prefix_cache_queries",
        "External prefix cache queries (KV connector cross-instance sharing), in queried tokens.",
    ),
    (
        "external_prefix_cache_hits",
        "External prefix cache hits (KV connector cross-instance sharing), in cached tokens.",
    ),
    ("mm_cache_queries", "Multi-modal cache queries, in terms of number of queried items."),
    ("mm_cache_hits", "Multi-modal cache hits, in terms of number of cached items."),
    ("num_preemptions", "Cumulative number of preemption from the engine."),
)
_SOURCES: Final = ("device", "host", "p2p", "disk", "external_unspecified")
_BY_LABEL: Final[tuple[tuple[str, str, str | None, tuple[str, ...]], ...]] = (
    # (family, help, label, values) of counters whose samples the mock has no reason to move
    ("prompt_tokens_cached", "Number of cached prompt tokens (local + external).", None, ()),
    ("prompt_tokens_cached_by_source", "Prefix-cache hit tokens by the cache tier.", "source", _SOURCES),
    (
        "admission_rejections",
        "Number of admission attempts rejected by a queue limit, by reason.",
        "reason",
        ("max_num_queued_reqs", "max_num_queued_tokens"),
    ),
)
_FINISHED: Final = ("stop", "length", "abort", "error", "repetition")
_IDLE_HISTOGRAMS: Final[tuple[tuple[str, str, tuple[float, ...]], ...]] = (
    ("iteration_tokens_total", "Histogram of number of tokens per engine_step.", _TOKENS),
    ("request_max_num_generation_tokens", "Histogram of the most generation tokens requested.", _TOKENS),
    ("request_params_n", "Histogram of the n request parameter.", (1.0, 2.0, 5.0, 10.0, 20.0)),
    ("request_params_max_tokens", "Histogram of the max_tokens request parameter.", _TOKENS),
    ("inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", _SECONDS),
    ("request_time_per_output_token_seconds", "Histogram of time per output token per request.", _SECONDS),
    ("request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", _SECONDS),
    ("request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.", _SECONDS),
    ("request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", _SECONDS),
    ("request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", _SECONDS),
    ("request_num_preemptions", "Histogram of preemptions per request.", (0.0, 1.0, 2.0, 5.0)),
    ("request_prefill_kv_computed_tokens", "Histogram of new KV tokens computed during prefill.", _TOKENS),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class EngineCounts:
    """What the engine families count, per model (a snapshot taken under the metrics' lock)."""

    running: int
    prompt_tokens: Mapping[str, int]
    generation_tokens: Mapping[str, int]
    success: Mapping[tuple[str, str], int]
    prompt_sizes: Mapping[str, Observed]
    generation_sizes: Mapping[str, Observed]
    first_token_s: Mapping[str, Observed]
    e2e_s: Mapping[str, Observed]


@dataclass(frozen=True, slots=True)
class HttpCounts:
    """Per (handler, method, status class): requests; per handler: bytes in and out; durations."""

    requests: Mapping[tuple[str, str, str], int]
    request_bytes: Mapping[str, tuple[int, int]]
    response_bytes: Mapping[str, tuple[int, int]]
    durations: Mapping[tuple[str, str], Observed]


def _created(family: Metric, labels: dict[str, str], started: float) -> None:
    family.samples.append(Sample(f"{family.name}_created", labels, started))


def _histogram(
    name: str, text: str, labels: Sequence[str], series: Mapping[Any, Observed],
    bounds: Sequence[float], started: float,
) -> Metric:  # fmt: skip
    family = HistogramMetricFamily(name, text, labels=list(labels))
    for values, observed in series.items():
        buckets = [(repr(bound), float(observed.at_most(bound))) for bound in bounds]
        buckets.append(("+Inf", float(observed.count)))
        family.add_metric(list(values), buckets, observed.total)
        _created(family, dict(zip(labels, values, strict=True)), started)
    return family


def vllm_families(
    engine: EngineCounts, http: HttpCounts, models: Sequence[str], *, engine_index: str, started: float
) -> Iterator[Metric]:
    """Every family vLLM 0.32's ``/metrics`` has, for ``models``, counted from ``engine`` and ``http``."""
    base = ["engine", "model_name"]
    each = [(engine_index, model) for model in models]

    def counter(name: str, text: str, value_of: Mapping[str, int] | None = None) -> Metric:
        family = CounterMetricFamily("vllm:" + name, text, labels=base)
        for labels in each:
            family.add_metric(list(labels), (value_of or {}).get(labels[1], 0), created=started)
        return family

    def gauge(name: str, text: str, value: float, extra: tuple[str, Sequence[str]] | None = None) -> Metric:
        label_names = [*base, extra[0]] if extra else base
        family = GaugeMetricFamily("vllm:" + name, text, labels=label_names)
        for labels in each:
            for value_label in extra[1] if extra else [None]:
                family.add_metric([*labels, *([value_label] if value_label else [])], value)
        return family

    for name, text in _ZERO_COUNTERS:
        yield counter(name, text)
    yield gauge("num_requests_running", "Number of requests in model execution batches.", engine.running)
    yield gauge("num_requests_waiting", "Number of requests waiting to be processed.", 0)
    yield gauge(
        "num_requests_waiting_by_reason",
        "Number of waiting requests by reason.",
        0,
        ("reason", ("capacity", "deferred")),
    )
    yield gauge(
        "engine_sleep_state",
        "Engine sleep state; awake = 0 means engine is sleeping; awake = 1 means engine is awake.",
        0,
        ("sleep_state", ("awake", "weights_offloaded", "discard_all")),
    )
    yield gauge("kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", 0)
    for name, text in _CACHE_COUNTERS:
        yield counter(name, text)
    yield counter("prompt_tokens", "Number of prefill tokens processed.", engine.prompt_tokens)
    by_source = CounterMetricFamily(
        "vllm:prompt_tokens_by_source", "Number of prompt tokens by source.", labels=[*base, "source"]
    )
    for labels in each:
        computed = engine.prompt_tokens.get(labels[1], 0)
        for source in ("local_compute", "local_cache_hit", "external_kv_transfer"):
            value = computed if source == "local_compute" else 0
            by_source.add_metric([*labels, source], value, created=started)
    yield by_source
    for name, text, label, values in _BY_LABEL:
        family = CounterMetricFamily("vllm:" + name, text, labels=[*base, *([label] if label else [])])
        for labels in each:
            for value_label in values or [None]:
                family.add_metric([*labels, *([value_label] if value_label else [])], 0, created=started)
        yield family
        if name == "prompt_tokens_cached_by_source":
            yield counter(
                "generation_tokens", "Number of generation tokens processed.", engine.generation_tokens
            )
            success = CounterMetricFamily(
                "vllm:request_success",
                "Count of successfully processed requests.",
                labels=[*base, "finished_reason"],
            )
            for labels in each:
                for reason in _FINISHED:
                    count = engine.success.get((labels[1], reason), 0)
                    success.add_metric([*labels, reason], count, created=started)
            yield success
    counted: tuple[tuple[str, str, Mapping[str, Observed], tuple[float, ...]], ...] = (
        ("request_prompt_tokens", "Number of prefill tokens processed.", engine.prompt_sizes, _TOKENS),
        ("request_generation_tokens", "Number of generation tokens.", engine.generation_sizes, _TOKENS),
        ("time_to_first_token_seconds", "Histogram of time to first token.", engine.first_token_s, _SECONDS),
        ("e2e_request_latency_seconds", "Histogram of e2e request latency.", engine.e2e_s, _SECONDS),
    )  # fmt: skip
    for name, text, series, bounds in counted:
        by_model = {labels: series.get(labels[1], NOTHING_OBSERVED) for labels in each}
        yield _histogram("vllm:" + name, text, base, by_model, bounds, started)
    for name, text, bounds in _IDLE_HISTOGRAMS:
        yield _histogram("vllm:" + name, text, base, dict.fromkeys(each, NOTHING_OBSERVED), bounds, started)
    info = GaugeMetricFamily(
        "vllm:cache_config_info",
        "Information of the LLMEngine CacheConfig",
        labels=["block_size", "cache_dtype", "enable_prefix_caching"],
    )
    info.add_metric(["128", "auto", "True"], 1.0)
    yield info
    parsers = CounterMetricFamily(
        "vllm:tool_call_parser_invocations",
        "Total number of ToolParser invocations.",
        labels=["mode", "outcome", "request_type"],
    )
    for mode in ("non_streaming", "streaming"):
        parsers.add_metric([mode, "no_tool_call", "chat_completions"], 0, created=started)
    yield parsers
    yield from _http_families(http, started)


def _http_families(http: HttpCounts, started: float) -> Iterator[Metric]:
    requests = CounterMetricFamily(
        "http_requests",
        "Total number of requests by method, status and handler.",
        labels=["handler", "method", "status"],
    )
    for labels, count in sorted(http.requests.items()):
        requests.add_metric(list(labels), count, created=started)
    yield requests
    for name, text, sizes in (
        ("http_request_size_bytes", _SIZE_HELP.format("incoming requests"), http.request_bytes),
        ("http_response_size_bytes", _SIZE_HELP.format("outgoing responses"), http.response_bytes),
    ):  # fmt: skip
        summary = SummaryMetricFamily(name, text, labels=["handler"])
        for handler, (count, total) in sorted(sizes.items()):
            summary.add_metric([handler], count, float(total))
            _created(summary, {"handler": handler}, started)
        yield summary
    everything = Observed.merged(http.durations.values(), HTTP_BUCKETS_S)
    yield _histogram(
        "http_request_duration_highr_seconds",
        "Latency with many buckets but no API specific labels.",
        [],
        {(): everything},
        _HTTP_SECONDS,
        started,
    )
    yield _histogram(
        "http_request_duration_seconds",
        "Latency with only few buckets by handler.",
        ["handler", "method"],
        dict(http.durations),
        _HTTP_COARSE,
        started,
    )
