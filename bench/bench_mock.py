"""Benchmark the mock NIM against a bare Starlette app sending the same bytes, in one run.

    python bench/bench_mock.py [--seconds 3] [--rounds 3]

Prints a table and writes bench/results/mock.json. Four figures:

1. non-streamed chat requests/s, mock vs bare (target: ratio >= 0.8);
2. SSE events/s of a 1,000-event stream at speed 0, mock vs bare (target: ratio >= 0.8);
3. timing fidelity at speed 1: median |replayed gap - recorded gap| (target < 2 ms);
4. time from start to ready with 500 cassettes (target < 1 s), in-process and as `nim-mock serve`.

Each server runs in its own subprocess on a loopback port, so the client (this process) and the
server do not share a GIL. The client is a minimal raw HTTP/1.1 keep-alive client on asyncio streams:
httpx would cost more CPU per request than either server, and the ratio would then only measure
the client. Mock and bare are measured in alternating rounds; the best round of each is reported
(the least disturbed by other load on the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from _servers import serve_printing_port, start_nim_mock, start_port_child, stop, token_event  # noqa: E402

from nim_mock import (  # noqa: E402
    Cassette,
    Event,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    RunningServer,
    bundled_cassettes_dir,
    create_app,
    load_cassettes,
    save_cassette,
)

MODEL = "meta/llama-3.1-8b-instruct"
STREAM_EVENTS = 1000
TIMING_EVENTS = 120
STARTUP_CASSETTES = 500
CONNECTIONS = 8


# -- the cassettes under test ----------------------------------------------------------------------


def _chunk(i: int) -> bytes:
    return token_event(i, model=MODEL, chunk_id="chatcmpl-0f1e2d3c4b5a69788796a5b4c3d2e1f0")


def _stream_cassette(name: str, prompt: str, offsets_ms: list[float]) -> Cassette:
    events = [Event(t, _chunk(i)) for i, t in enumerate(offsets_ms)]
    events.append(Event(offsets_ms[-1], b"data: [DONE]\n\n"))
    body = {"model": MODEL, "messages": [{"role": "user", "content": prompt}], "stream": True}
    request = RecordedRequest("POST", "/v1/chat/completions", {"content-type": "application/json"}, body=body)
    response = RecordedResponse(
        200,
        (("content-type", "text/event-stream; charset=utf-8"), ("server", "uvicorn")),
        events=tuple(events),
    )
    return Cassette(name, (Interaction(request, response),))


def write_cassettes(folder: Path) -> dict[str, Cassette]:
    """The three scenarios: a bundled plain chat, a 1,000-event stream, and a stream with irregular gaps."""
    plain = next(c for c in load_cassettes([bundled_cassettes_dir()]) if c.name == "chat/plain")
    rng = random.Random(7)
    gaps = [rng.uniform(2.0, 40.0) for _ in range(TIMING_EVENTS - 1)]
    offsets = [50.0]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    scenarios = {
        "chat": Cassette("chat", plain.interactions, plain.description),
        "stream": _stream_cassette("stream", "a thousand tokens", [float(i) for i in range(STREAM_EVENTS)]),
        "timing": _stream_cassette("timing", "irregular tokens", offsets),
    }
    for name, cassette in scenarios.items():
        save_cassette(cassette, folder / f"{name}.json")
    return scenarios


# -- servers in subprocesses -----------------------------------------------------------------------


def _bare_app(folder: Path) -> Any:
    """A Starlette app that answers each scenario's request path with its recorded bytes, nothing more."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    cassettes = {c.name: c for c in load_cassettes([folder])}
    chat = cassettes["chat"].interactions[0].response
    stream = cassettes["stream"].interactions[0].response
    chat_headers = {k: v for k, v in chat.headers if k.lower() != "content-type"}
    events = [event.raw for event in stream.events or ()]

    async def chat_endpoint(request: Request) -> Response:
        await request.body()
        return Response(
            chat.body, status_code=chat.status, headers=chat_headers, media_type="application/json"
        )

    async def stream_endpoint(request: Request) -> Response:
        await request.body()

        async def body() -> Any:
            for raw in events:
                yield raw

        return StreamingResponse(body(), headers={"server": "uvicorn"}, media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/chat", chat_endpoint, methods=["POST"]),
            Route("/stream", stream_endpoint, methods=["POST"]),
        ]
    )


def serve_child(kind: str, folder: Path, speed: float) -> None:
    """Child process: serve the mock or the bare app, print the port, run until SIGTERM."""
    app = create_app(load_cassettes([folder]), speed=speed) if kind == "mock" else _bare_app(folder)
    serve_printing_port(app, log_level="error")


class Child:
    def __init__(self, kind: str, folder: Path, speed: float = 0.0) -> None:
        self.process, self.port = start_port_child([__file__, "_serve", kind, str(folder), str(speed)])

    def close(self) -> None:
        stop(self.process, signal.SIGTERM)


# -- a minimal HTTP/1.1 client -----------------------------------------------------------------------


def _request_bytes(path: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"content-length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _read_response(
    reader: asyncio.StreamReader, on_chunk: Callable[[bytes], None] | None = None
) -> int:
    """Read one response; returns the status. Chunked bodies call ``on_chunk`` per chunk as it arrives."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            headers[name.strip().lower()] = value.strip()
    if b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
        return status
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return status
        data = await reader.readexactly(size + 2)
        if on_chunk is not None:
            on_chunk(data[:-2])


async def _requests_per_second(port: int, request: bytes, seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop:
                writer.write(request)
                assert await _read_response(reader) == 200
                done += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return done / (time.perf_counter() - started)


async def _events_per_second(port: int, request: bytes, seconds: float) -> float:
    events = 0
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    def count(chunk: bytes) -> None:
        nonlocal events
        events += chunk.count(b"\n\n")

    started = time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            assert await _read_response_after(writer, reader, request, count) == 200
    finally:
        writer.close()
    return events / (time.perf_counter() - started)


async def _read_response_after(
    writer: asyncio.StreamWriter,
    reader: asyncio.StreamReader,
    request: bytes,
    on_chunk: Callable[[bytes], None],
) -> int:
    writer.write(request)
    return await _read_response(reader, on_chunk)


async def _arrival_gaps(port: int, request: bytes) -> list[float]:
    arrivals: list[float] = []
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await _read_response_after(
            writer,
            reader,
            request,
            lambda chunk: arrivals.extend([time.perf_counter()] * chunk.count(b"\n\n")),
        )
    finally:
        writer.close()
    return [b - a for a, b in itertools.pairwise(arrivals)]


# -- the four measurements ---------------------------------------------------------------------------


def measure_throughput(
    folder: Path, scenarios: dict[str, Cassette], seconds: float, rounds: int
) -> dict[str, Any]:
    chat_body = scenarios["chat"].interactions[0].request.body
    stream_body = scenarios["stream"].interactions[0].request.body
    mock, bare = Child("mock", folder), Child("bare", folder)
    results: dict[str, list[float]] = {"mock_rps": [], "bare_rps": [], "mock_eps": [], "bare_eps": []}
    try:
        # Warm both servers (imports, first connections) before measuring.
        asyncio.run(_requests_per_second(mock.port, _request_bytes("/v1/chat/completions", chat_body), 0.3))
        asyncio.run(_requests_per_second(bare.port, _request_bytes("/chat", chat_body), 0.3))
        for _ in range(rounds):
            for kind, child, chat_path, stream_path in (
                ("mock", mock, "/v1/chat/completions", "/v1/chat/completions"),
                ("bare", bare, "/chat", "/stream"),
            ):
                chat_request = _request_bytes(chat_path, chat_body)
                stream_request = _request_bytes(stream_path, stream_body)
                results[f"{kind}_rps"].append(
                    asyncio.run(_requests_per_second(child.port, chat_request, seconds))
                )
                results[f"{kind}_eps"].append(
                    asyncio.run(_events_per_second(child.port, stream_request, seconds))
                )
    finally:
        mock.close()
        bare.close()
    best = {key: max(values) for key, values in results.items()}
    return {
        "chat_requests_per_s": {
            "mock": round(best["mock_rps"]),
            "bare": round(best["bare_rps"]),
            "ratio": round(best["mock_rps"] / best["bare_rps"], 3),
            "rounds": {k: [round(v) for v in results[k]] for k in ("mock_rps", "bare_rps")},
        },
        "sse_events_per_s": {
            "mock": round(best["mock_eps"]),
            "bare": round(best["bare_eps"]),
            "ratio": round(best["mock_eps"] / best["bare_eps"], 3),
            "events_per_stream": STREAM_EVENTS + 1,
            "rounds": {k: [round(v) for v in results[k]] for k in ("mock_eps", "bare_eps")},
        },
    }


def measure_timing(folder: Path, scenarios: dict[str, Cassette], repeats: int) -> dict[str, Any]:
    cassette = scenarios["timing"]
    events = cassette.interactions[0].response.events or ()
    recorded = [(b.t_ms - a.t_ms) / 1000.0 for a, b in itertools.pairwise(events)]
    request = _request_bytes("/v1/chat/completions", cassette.interactions[0].request.body)
    mock = Child("mock", folder, speed=1.0)
    errors: list[float] = []
    try:
        for _ in range(repeats):
            replayed = asyncio.run(_arrival_gaps(mock.port, request))
            assert len(replayed) == len(recorded), (len(replayed), len(recorded))
            errors.extend(abs(r - g) for r, g in zip(replayed, recorded, strict=True))
    finally:
        mock.close()
    errors.sort()
    return {
        "median_abs_gap_error_ms": round(statistics.median(errors) * 1000, 3),
        "p95_abs_gap_error_ms": round(errors[int(len(errors) * 0.95)] * 1000, 3),
        "max_abs_gap_error_ms": round(errors[-1] * 1000, 3),
        "gaps_measured": len(errors),
        "recorded_gap_range_ms": [round(min(recorded) * 1000, 1), round(max(recorded) * 1000, 1)],
    }


def measure_startup(scratch: Path) -> dict[str, Any]:
    folder = scratch / "startup"
    template = next(c for c in load_cassettes([bundled_cassettes_dir()]) if c.name == "chat/plain")
    interaction = template.interactions[0]
    for i in range(STARTUP_CASSETTES):
        body = dict(interaction.request.body)
        body["messages"] = [{"role": "user", "content": f"question number {i}"}]
        request = RecordedRequest(
            "POST", interaction.request.path, dict(interaction.request.headers), body=body
        )
        cassette = Cassette(f"s{i:03d}", (Interaction(request, interaction.response),))
        save_cassette(cassette, folder / f"group{i % 10}" / f"s{i:03d}.json")

    # In-process: load, build the app, start uvicorn, first health check answered.
    started = time.perf_counter()
    cassettes = load_cassettes([folder])
    load_s = time.perf_counter() - started
    server = RunningServer(create_app(cassettes))
    server.start()
    with httpx.Client() as client:
        assert client.get(server.base_url + "/v1/health/ready").status_code == 200
    in_process = time.perf_counter() - started
    server.stop()

    # As a user runs it: spawn `nim-mock serve`, wait for the banner, first health check answered.
    started = time.perf_counter()
    process, banner = start_nim_mock(
        ["serve", "--cassettes", str(folder), "--port", "0", "--log-level", "warning"]
    )
    try:
        match = re.search(r"http://\S+/v1", banner)
        assert match, banner
        with httpx.Client() as client:
            assert client.get(match.group(0) + "/health/ready").status_code == 200
        cli = time.perf_counter() - started
    finally:
        stop(process)
    return {
        "cassettes": len(cassettes),
        "in_process_s": round(in_process, 3),
        "in_process_load_s": round(load_s, 3),
        "cli_subprocess_s": round(cli, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each throughput round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating mock/bare rounds")
    parser.add_argument("--timing-repeats", type=int, default=5, help="streams replayed at speed 1")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "mock.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-mock-") as scratch_name:
        scratch = Path(scratch_name)
        folder = scratch / "cassettes"
        scenarios = write_cassettes(folder)
        throughput = measure_throughput(folder, scenarios, args.seconds, args.rounds)
        timing = measure_timing(folder, scenarios, args.timing_repeats)
        startup = measure_startup(scratch)

    results = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "settings": {"seconds": args.seconds, "rounds": args.rounds, "connections": CONNECTIONS},
        **throughput,
        "timing_fidelity_speed_1": timing,
        "startup_500_cassettes": startup,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")

    rps, eps = results["chat_requests_per_s"], results["sse_events_per_s"]
    rows = [
        (
            "non-streamed chat req/s (8 conns)",
            f"{rps['mock']}",
            f"{rps['bare']}",
            f"{rps['ratio']:.2f}",
            ">= 0.80",
        ),
        (
            "SSE events/s (1,000-event stream)",
            f"{eps['mock']}",
            f"{eps['bare']}",
            f"{eps['ratio']:.2f}",
            ">= 0.80",
        ),
        ("median |gap error| at speed 1", f"{timing['median_abs_gap_error_ms']} ms", "", "", "< 2 ms"),
        ("p95 |gap error| at speed 1", f"{timing['p95_abs_gap_error_ms']} ms", "", "", ""),
        ("start to ready, 500 cassettes", f"{startup['in_process_s']} s", "", "in-process", "< 1 s"),
        ("start to ready, 500 cassettes", f"{startup['cli_subprocess_s']} s", "", "nim-mock serve", "< 1 s"),
    ]
    header = ("measure", "mock", "bare", "ratio", "target")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "_serve":
        serve_child(sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]))
    else:
        main()
