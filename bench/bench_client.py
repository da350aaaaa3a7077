"""Client benchmark: our ChatNVIDIA against the published clients and two floors, in one run.

Usage:  .venv/bin/python bench/bench_client.py [--invokes 300] [--chunks 10000] [--memory-chunks 100000]
        .venv/bin/python bench/bench_client.py --stream-runs 5   # only ours vs the anchor, streaming

One bare Starlette app on uvicorn runs in a subprocess on an ephemeral loopback port (so the
server has its own interpreter and core). Every client talks to that same server:

- ``ours``: ``nim_harness.ChatNVIDIA``
- ``anchor``: ``langchain_nvidia_ai_endpoints.ChatNVIDIA`` 1.5 (its usage telemetry switched off)
- ``openai``: ``langchain_openai.ChatOpenAI``
- ``httpx``: a bare ``httpx.Client`` POST (floor for the network part)
- ``core``: a ``BaseChatModel`` that answers at once (floor for langchain-core's own cost)

Measured: invoke latency (median ms over ``--invokes`` calls after a warm-up), streaming
throughput (chunks/s, median of 5 streams of ``--chunks`` chunks each, with the part of each
chunk's time spent in the garbage collector shown apart), and our client's memory
while streaming ``--memory-chunks`` chunks (RSS sampled every 10%; the text is kept, as a caller
would, so growth should match the text and nothing else). The server takes the number of chunks
to stream from ``max_tokens``, so every client asks for the same stream the ordinary way.

The table goes to stdout, the figures to ``bench/results/client.json``. Timings are ratios on a
shared machine, not absolutes: compare rows from the same run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

# The anchor sends usage telemetry to an NVIDIA endpoint unless this is off; the benchmark must
# not reach beyond loopback, so it is switched off before the package is imported.
os.environ["NVIDIA_USAGE_TELEMETRY_ENABLED"] = "0"

MODEL = "meta/llama-3.1-8b-instruct"
KEY = "nvapi-bench-not-a-real-key"
TOKEN = "tok "
RESULTS = Path(__file__).resolve().parent / "results" / "client.json"
STREAM_RESULTS = RESULTS.with_name("client_stream_runs.json")

# _servers (beside this script) puts the checkout on sys.path and starts/stops the server child.
from _servers import serve_printing_port, start_port_child, stop  # noqa: E402

# -- the server (runs in the subprocess) ---------------------------------------------------------


def _server_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": MODEL}
    first = dumps(
        {
            **head,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
        }
    )
    token = dumps(
        {
            **head,
            "choices": [{"index": 0, "delta": {"content": TOKEN}, "logprobs": None, "finish_reason": None}],
        }
    )
    final = dumps({**head, "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "length"}]})
    token_event = b"data: " + token + b"\n\n"

    async def models(_: Request) -> Response:
        return JSONResponse(
            {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "meta"}]}
        )

    async def chat(request: Request) -> Response:
        body = await request.json()
        count = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
        usage = {"prompt_tokens": 8, "completion_tokens": count, "total_tokens": 8 + count}
        if not body.get("stream"):
            message = {"role": "assistant", "content": TOKEN * min(count, 16)}
            return JSONResponse(
                {
                    "id": "chatcmpl-bench",
                    "object": "chat.completion",
                    "created": 1,
                    "model": MODEL,
                    "choices": [
                        {"index": 0, "message": message, "logprobs": None, "finish_reason": "length"}
                    ],
                    "usage": usage,
                }
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        async def events() -> AsyncIterator[bytes]:
            yield b"data: " + first + b"\n\n"
            left = count
            while left:
                batch = min(left, 256)  # batched sends: the server must never be the bottleneck
                yield token_event * batch
                left -= batch
            yield b"data: " + final + b"\n\n"
            if include_usage:
                yield b"data: " + dumps({**head, "choices": [], "usage": usage}) + b"\n\n"
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/chat/completions", chat, methods=["POST"]),
        ]
    )


# -- the clients -----------------------------------------------------------------------------------


class Runner:
    """``invoke()`` makes one short call; ``stream()`` yields the chunks of one long stream."""

    def __init__(self, name: str, invoke: Callable[[], Any], stream: Callable[[], Iterator[Any]]) -> None:
        self.name, self.invoke, self.stream = name, invoke, stream


def _ours(url: str, chunks: int) -> Runner:
    from nim_harness import ChatNVIDIA

    short = ChatNVIDIA(model=MODEL, base_url=url, api_key=KEY, max_tokens=16)
    long = ChatNVIDIA(model=MODEL, base_url=url, api_key=KEY, max_tokens=chunks)
    return Runner("ours", lambda: short.invoke("Hi"), lambda: long.stream("Hi"))


def _ours_layer(url: str, chunks: int) -> Callable[[], Iterator[Any]]:
    """Our ``_stream`` without langchain-core's wrapper around it (which keeps every chunk)."""
    from langchain_core.messages import HumanMessage
    from nim_harness import ChatNVIDIA

    model = ChatNVIDIA(model=MODEL, base_url=url, api_key=KEY, max_tokens=chunks)
    return lambda: model._stream([HumanMessage("Hi")])


def _anchor(url: str, chunks: int) -> Runner:
    from langchain_nvidia_ai_endpoints import ChatNVIDIA as AnchorChatNVIDIA

    short = AnchorChatNVIDIA(model=MODEL, base_url=url, api_key=KEY, max_tokens=16)
    long = AnchorChatNVIDIA(model=MODEL, base_url=url, api_key=KEY, max_tokens=chunks)
    return Runner("anchor", lambda: short.invoke("Hi"), lambda: long.stream("Hi"))


def _openai(url: str, chunks: int) -> Runner:
    from langchain_openai import ChatOpenAI

    short = ChatOpenAI(model=MODEL, base_url=url, api_key=KEY, max_tokens=16, max_retries=0)  # type: ignore[arg-type]
    long = ChatOpenAI(
        model=MODEL, base_url=url, api_key=KEY, max_tokens=chunks, max_retries=0, stream_usage=True
    )  # type: ignore[arg-type]
    return Runner("openai", lambda: short.invoke("Hi"), lambda: long.stream("Hi"))


def _httpx(url: str, chunks: int) -> Runner:
    import httpx

    client = httpx.Client(headers={"Authorization": f"Bearer {KEY}"})
    endpoint = f"{url}/chat/completions"

    def invoke() -> str:
        body = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 16}
        return str(client.post(endpoint, json=body).json()["choices"][0]["message"]["content"])

    def stream() -> Iterator[Any]:
        body = {
            "model": MODEL,
            "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": chunks,
            "stream": True,
        }
        with client.stream("POST", endpoint, json=body) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    yield json.loads(line[6:])

    return Runner("httpx", invoke, stream)


def _core(url: str, chunks: int) -> Runner:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

    class Instant(BaseChatModel):
        """Answers at once: what langchain-core itself costs per call and per chunk."""

        @property
        def _llm_type(self) -> str:
            return "instant"

        def _generate(
            self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
        ) -> ChatResult:
            return ChatResult(generations=[ChatGeneration(message=AIMessage(TOKEN * 16))])

        def _stream(
            self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
        ) -> Iterator[ChatGenerationChunk]:
            for _ in range(chunks):
                yield ChatGenerationChunk(message=AIMessageChunk(content=TOKEN))

    model = Instant()
    return Runner("core", lambda: model.invoke("Hi"), lambda: model.stream("Hi"))


# -- measuring -------------------------------------------------------------------------------------


def invoke_ms(runners: list[Runner], count: int) -> dict[str, float]:
    """Median latency per client, the clients taking turns call by call.

    Taking turns matters on a small shared machine: caches, CPU frequency and neighbours then
    weigh on every client alike, instead of on whichever happened to run during a busy second.
    """
    for runner in runners:
        for _ in range(max(20, count // 10)):
            runner.invoke()
    times: dict[str, list[float]] = {runner.name: [] for runner in runners}
    for _ in range(count):
        for runner in runners:
            start = time.perf_counter_ns()
            runner.invoke()
            times[runner.name].append((time.perf_counter_ns() - start) / 1e6)
    return {name: statistics.median(values) for name, values in times.items()}


class GCClock:
    """Time spent inside the garbage collector, read through ``gc.callbacks`` (nothing is changed).

    langchain-core keeps every chunk of a stream until it ends, so the collector walks an ever
    larger heap; that cost lands on every client alike and is reported apart from the rest.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def chunks_per_second(runners: list[Runner], rounds: int = 5) -> dict[str, tuple[float, int, float]]:
    """Median chunks/s and median GC µs/chunk over ``rounds`` streams per client, taking turns.

    The garbage collector is run before each stream so no client pays for another's garbage.
    """
    rates: dict[str, list[float]] = {runner.name: [] for runner in runners}
    gc_us: dict[str, list[float]] = {runner.name: [] for runner in runners}
    seen: dict[str, int] = {}
    clock = GCClock()
    gc.callbacks.append(clock)
    try:
        for _ in range(rounds):
            for runner in runners:
                gc.collect()
                clock.seconds = 0.0
                start = time.perf_counter()
                seen[runner.name] = sum(1 for _ in runner.stream())
                rates[runner.name].append(seen[runner.name] / (time.perf_counter() - start))
                gc_us[runner.name].append(clock.seconds * 1e6 / max(1, seen[runner.name]))
    finally:
        gc.callbacks.remove(clock)
    return {
        name: (statistics.median(values), seen[name], statistics.median(gc_us[name]))
        for name, values in rates.items()
    }


def stream_runs(url: str, chunks: int, runs: int) -> list[dict[str, float]]:
    """The streaming target checked as stated: ours against the anchor in each of ``runs`` runs.

    Each run is one ``chunks_per_second`` comparison (the two clients taking turns, median of 5
    streams each); which client goes first alternates between runs, so neither always streams
    right after the other's garbage. The load average is recorded with each run because on a
    shared machine it says how much a run's figures can be trusted.
    """
    ours, anchor = _ours(url, chunks), _anchor(url, chunks)
    results: list[dict[str, float]] = []
    for run in range(1, runs + 1):
        rates = chunks_per_second([ours, anchor] if run % 2 else [anchor, ours])
        ratio = rates["ours"][0] / rates["anchor"][0]
        load = os.getloadavg()[0]
        results.append(
            {
                "ours_chunks_per_s": round(rates["ours"][0]),
                "anchor_chunks_per_s": round(rates["anchor"][0]),
                "ours_gc_us_per_chunk": round(rates["ours"][2], 2),
                "anchor_gc_us_per_chunk": round(rates["anchor"][2], 2),
                "ratio": round(ratio, 2),
                "load_average_1min": round(load, 2),
            }
        )
        print(
            f"run {run}: ours {rates['ours'][0]:,.0f} chunks/s, anchor {rates['anchor'][0]:,.0f} "
            f"-> {ratio:.2f}x (target >= 1.5); load average {load:.2f}",
            flush=True,
        )
    worst = min(result["ratio"] for result in results)
    print(f"lowest of {runs} runs: {worst:.2f}x ({'met' if worst >= 1.5 else 'NOT met'})")
    return results


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def stream_memory(stream: Callable[[], Iterator[Any]], total: int) -> dict[str, Any]:
    """Python heap in use (tracemalloc) every 10% of a long stream, text kept as a caller would.

    tracemalloc counts live Python objects exactly, where RSS also moves with allocator
    fragmentation; RSS is recorded as well. "Flat" means the growth after the first 10% is no
    more than what the kept text (and, through ``.stream()``, langchain-core's own list of
    chunks) accounts for.
    """
    gc.collect()
    text: list[str] = []
    heap: list[float] = []
    rss: list[float] = []
    step = max(1, total // 10)
    tracemalloc.start()
    try:
        for index, chunk in enumerate(stream(), start=1):
            message = getattr(chunk, "message", chunk)  # ``_stream`` yields generation chunks
            text.append(str(message.content))
            if index % step == 0:
                heap.append(round(tracemalloc.get_traced_memory()[0] / 2**20, 2))
                rss.append(round(_rss_mib(), 1))
    finally:
        tracemalloc.stop()
    text_mib = (sum(sys.getsizeof(part) for part in text) + sys.getsizeof(text)) / 2**20
    growth = heap[-1] - heap[0] if heap else 0.0
    return {
        "chunks": len(text),
        "heap_mib_every_10pct": heap,
        "rss_mib_every_10pct": rss,
        "heap_growth_after_first_10pct_mib": round(growth, 2),
        "bytes_per_chunk_after_first_10pct": round(growth * 2**20 / max(1, len(text) - step)),
        "kept_text_mib": round(text_mib, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--invokes", type=int, default=300)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--memory-chunks", type=int, default=100_000)
    parser.add_argument(
        "--stream-runs",
        type=int,
        default=0,
        metavar="N",
        help="only compare our streaming with the anchor's, N times, printing each run's ratio",
    )
    args = parser.parse_args()
    if args.serve:
        serve_printing_port(_server_app())
        return

    proc, port = start_port_child([__file__, "--serve"])
    url = f"http://127.0.0.1:{port}/v1"
    if args.stream_runs:
        try:
            runs = stream_runs(url, args.chunks, args.stream_runs)
        finally:
            stop(proc)
        STREAM_RESULTS.parent.mkdir(parents=True, exist_ok=True)
        STREAM_RESULTS.write_text(json.dumps({"chunks": args.chunks, "runs": runs}, indent=2) + "\n")
        return
    try:
        runners = [make(url, args.chunks) for make in (_ours, _anchor, _openai, _httpx, _core)]
        latencies = invoke_ms(runners, args.invokes)
        rates = chunks_per_second(runners)
        rows = {
            name: {
                "invoke_ms": round(latencies[name], 3),
                "chunks_per_s": round(rates[name][0]),
                "chunks_seen": rates[name][1],
                "gc_us_per_chunk": round(rates[name][2], 2),
            }
            for name in latencies
        }
        memory = {
            # what a caller of .stream() sees: langchain-core itself keeps every chunk until the
            # end (to report the whole message to callbacks), so compare with the core floor ...
            "ours_stream": stream_memory(_ours(url, args.memory_chunks).stream, args.memory_chunks),
            "core_stream": stream_memory(_core(url, args.memory_chunks).stream, args.memory_chunks),
            # ... and our own layer alone, which must keep nothing per chunk
            "ours_layer_only": stream_memory(_ours_layer(url, args.memory_chunks), args.memory_chunks),
        }
    finally:
        stop(proc)

    floor = rows["httpx"]["invoke_ms"] + rows["core"]["invoke_ms"]
    ratios = {
        "invoke_vs_floor": round(rows["ours"]["invoke_ms"] / floor, 2),
        "invoke_vs_anchor": round(rows["ours"]["invoke_ms"] / rows["anchor"]["invoke_ms"], 2),
        "stream_vs_anchor": round(rows["ours"]["chunks_per_s"] / rows["anchor"]["chunks_per_s"], 2),
    }
    print(f"{'client':<8} {'invoke ms':>10} {'chunks/s':>10} {'µs/chunk':>9} {'in GC':>6}")
    for name, row in rows.items():
        per_chunk = 1e6 / row["chunks_per_s"]
        print(
            f"{name:<8} {row['invoke_ms']:>10.3f} {row['chunks_per_s']:>10,} "
            f"{per_chunk:>9.2f} {row['gc_us_per_chunk']:>6.2f}"
        )
    print(f"floor (httpx + core) invoke: {floor:.3f} ms")
    print(
        f"ours: invoke {ratios['invoke_vs_floor']}x floor (target <= 1.2), "
        f"{ratios['invoke_vs_anchor']}x anchor (target ~0.6); "
        f"streaming {ratios['stream_vs_anchor']}x anchor (target >= 1.5)"
    )
    for name, figures in memory.items():
        print(
            f"memory {name}, {figures['chunks']:,} chunks: heap growth after the first 10% "
            f"{figures['heap_growth_after_first_10pct_mib']} MiB "
            f"= {figures['bytes_per_chunk_after_first_10pct']} B/chunk "
            f"(kept text {figures['kept_text_mib']} MiB)"
        )

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "settings": {"invokes": args.invokes, "chunks": args.chunks, "memory_chunks": args.memory_chunks},
        "clients": rows,
        "floor_invoke_ms": round(floor, 3),
        "ratios": ratios,
        "memory": memory,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
