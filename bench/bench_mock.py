"""Benchmark the mock NIM against a bare Starlette app sending the same bytes, in one run.

    python bench/bench_mock.py [--seconds 3] [--rounds 3] [--driver wrk|python] [--sections ...]

Prints tables and writes bench/results/mock.json. Six figures:

1. non-streamed chat requests/s, mock vs bare, at 1, 16 and 64 connections (target: ratio >= 0.9);
2. SSE events/s of a 1,000-event stream at speed 0, mock vs bare, same connections (target >= 0.95);
   then the two apps alone, called in-process with no server: µs per answer, which splits the gap
   above into what the mock's app does beyond a bare route and what the servers' HTTP work costs;
3. `nim-mock serve --workers N` for N = 1, 2 and the CPU count: chat requests/s at 64 connections,
   SSE events/s at 16, the scaling against one worker, and how the requests split over the workers;
4. timing fidelity at speed 1: median |replayed gap - recorded gap| (target < 2 ms);
5. time from start to ready with 500 cassettes (target < 1 s), in-process and as `nim-mock serve`.

The mock is the console script as a user runs it (`nim-mock serve`, default log level: one request
line each, written to a file), the bare app a Starlette route returning the same bytes; each runs
in its own process on a loopback port. The load comes from wrk (Debian: `apt-get install -y wrk`),
one thread, which costs far less CPU per request than either server; `--driver python` uses a
minimal raw HTTP/1.1 client on asyncio instead (slower: a weaker test at 64 connections). Rounds
alternate which server goes first and the best run of each counts (the least disturbed by other
load on the machine); every run is kept in the JSON, with the server's CPU time per response
read from /proc (steadier than requests/s when neighbours share the cores).
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
import subprocess
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

from _servers import (  # noqa: E402
    process_tree_cpu_s,
    serve_printing_port,
    settle,
    start_nim_mock,
    start_port_child,
    stop,
    token_event,
)
from _wrk import WRK_HINT, find_wrk, run_wrk  # noqa: E402

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
CONNECTIONS = (1, 16, 64)
TARGETS = {"chat": 0.9, "sse": 0.95}
"""mock/bare targets: non-streamed chat requests/s and SSE events/s."""
PATHS = {
    "mock": {"chat": "/v1/chat/completions", "sse": "/v1/chat/completions"},
    "bare": {"chat": "/chat", "sse": "/stream"},
}
"""Where each server answers each scenario (the bare app's routes are ``_bare_app``'s)."""


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
        # stderr dropped: when a load run ends mid-stream, asyncio warns once per write to a gone peer.
        self.process, self.port = start_port_child(
            [__file__, "_serve", kind, str(folder), str(speed)], stderr=subprocess.DEVNULL
        )

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


async def _python_client(
    port: int, request: bytes, connections: int, seconds: float
) -> tuple[int, int, float]:
    """The built-in driver: (responses, SSE events, seconds) over ``connections`` keep-alive connections."""
    done = events = 0
    deadline = time.perf_counter() + seconds

    def count(chunk: bytes) -> None:
        nonlocal events
        events += chunk.count(b"\n\n")

    async def connection() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                assert await _read_response_after(writer, reader, request, count) == 200
                done += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return done, events, time.perf_counter() - started


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


class Server:
    """A server under measurement: its process (CPU is read from it), port, and the paths to POST."""

    def __init__(self, kind: str, folder: Path, log: Path | None = None, workers: int = 1) -> None:
        self.kind = kind
        self.process: Any
        self.paths = PATHS[kind]
        if kind == "bare":
            child = Child("bare", folder)
            self.process, self.port = child.process, child.port
            return
        # The mock as a user runs it: the console script at the default log level, stderr to a file.
        args = ["serve", "--cassettes", str(folder), "--port", "0", "--workers", str(workers)]
        with (log or Path(os.devnull)).open("a") as stderr:
            self.process, banner = start_nim_mock(args, stderr=stderr)
        found = re.search(r"http://127\.0\.0\.1:(\d+)/v1", banner)
        if found is None:
            stop(self.process)
            raise RuntimeError(f"nim-mock serve did not announce a URL: {banner!r}")
        self.port = int(found.group(1))

    def close(self) -> None:
        stop(self.process, signal.SIGTERM)


def drive(
    driver: str, server: Server, scenario: str, body: dict[str, Any], connections: int, seconds: float
) -> dict[str, float]:
    """One run: responses/s (chat) or events/s (sse), the server's CPU µs per response, and errors."""
    path = server.paths[scenario]
    if driver == "wrk":
        wrk = find_wrk()
        assert wrk is not None
        run = run_wrk(
            wrk,
            f"http://127.0.0.1:{server.port}{path}",
            json.dumps(body).encode(),
            connections=connections,
            seconds=max(1, round(seconds)),
            server_pid=server.process.pid,
        )
        settle(server.process.pid)
        per_response = STREAM_EVENTS + 1 if scenario == "sse" else 1
        return {
            "per_s": run.per_second * per_response,
            "cpu_us": run.cpu_us_per_request,
            "errors": run.errors,
        }
    cpu_before = process_tree_cpu_s(server.process.pid)
    responses, events, took = asyncio.run(
        _python_client(server.port, _request_bytes(path, body), connections, seconds)
    )
    cpu = process_tree_cpu_s(server.process.pid) - cpu_before
    settle(server.process.pid)
    count = events if scenario == "sse" else responses
    return {"per_s": count / took, "cpu_us": cpu / max(responses, 1) * 1e6, "errors": 0}


def _bodies(scenarios: dict[str, Cassette]) -> dict[str, dict[str, Any]]:
    chat = scenarios["chat"].interactions[0].request.body
    stream = scenarios["stream"].interactions[0].request.body
    assert isinstance(chat, dict)
    assert isinstance(stream, dict)
    return {"chat": chat, "sse": stream}


def measure_throughput(
    folder: Path, scenarios: dict[str, Cassette], seconds: float, rounds: int, driver: str, log: Path
) -> dict[str, Any]:
    """Mock vs bare at each of CONNECTIONS, both scenarios; rounds alternate which server goes first."""
    bodies = _bodies(scenarios)
    servers = {"mock": Server("mock", folder, log), "bare": Server("bare", folder)}
    runs: dict[str, dict[int, dict[str, list[dict[str, float]]]]] = {
        scenario: {c: {"mock": [], "bare": []} for c in CONNECTIONS} for scenario in bodies
    }
    own_cpus = _pin_apart([server.process.pid for server in servers.values()])
    try:
        for server in servers.values():  # warm up: imports, first connections, the matcher's caches
            drive(driver, server, "chat", bodies["chat"], 4, 1)
        for round_number in range(rounds):
            order = ("mock", "bare") if round_number % 2 == 0 else ("bare", "mock")
            for scenario, body in bodies.items():
                for connections in CONNECTIONS:
                    for kind in order:
                        run = drive(driver, servers[kind], scenario, body, connections, seconds)
                        runs[scenario][connections][kind].append(run)
    finally:
        for server in servers.values():
            server.close()
        if own_cpus is not None:
            os.sched_setaffinity(0, own_cpus)
    results: dict[str, Any] = {"pinned": own_cpus is not None}
    for scenario, by_connections in runs.items():
        results[scenario] = {}
        for connections, by_kind in by_connections.items():
            best = {kind: max(run["per_s"] for run in kind_runs) for kind, kind_runs in by_kind.items()}
            cpu = {kind: min(run["cpu_us"] for run in kind_runs) for kind, kind_runs in by_kind.items()}
            # Each round ran the two servers back to back: their ratio saw the same neighbours.
            paired = [m["per_s"] / b["per_s"] for m, b in zip(by_kind["mock"], by_kind["bare"], strict=True)]
            results[scenario][str(connections)] = {
                "mock": round(best["mock"]),
                "bare": round(best["bare"]),
                "ratio": round(best["mock"] / best["bare"], 3),
                "paired_ratio_median": round(statistics.median(paired), 3),
                "mock_cpu_us_per_response": round(cpu["mock"], 1),
                "bare_cpu_us_per_response": round(cpu["bare"], 1),
                "cpu_ratio": round(cpu["bare"] / cpu["mock"], 3),
                "errors": sum(int(run["errors"]) for kind_runs in by_kind.values() for run in kind_runs),
                "rounds": {
                    kind: [round(run["per_s"]) for run in kind_runs] for kind, kind_runs in by_kind.items()
                },
            }
    return results


def _pin_apart(server_pids: list[int]) -> set[int] | None:
    """Put the servers on the first CPU and this process (and so the load generator it starts) on the
    others; returns this process's CPUs as they were, ``None`` where there is one CPU or no affinity.

    Unpinned, the scheduler now and then runs the load generator on the server's core, and one
    run of the same server moved by up to 2x against the next; both servers get the same core.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    for pid in server_pids:
        os.sched_setaffinity(pid, {cpus[0]})
    os.sched_setaffinity(0, set(cpus[1:]))
    return set(cpus)


def _worker_split(port: int, workers: int) -> dict[str, int]:
    """Chat requests each worker answered, read from /v1/metrics over fresh connections until every
    worker's numbers were seen (each new connection reaches one worker, as the kernel picks)."""
    split: dict[str, int] = {}
    pattern = re.compile(
        r'nim_mock_requests_total\{worker="(\d+)",method="POST",'
        r'route="/v1/chat/completions",status="200"\} (\d+)'
    )
    for _ in range(50 * workers):
        if len(split) == workers:
            break
        with httpx.Client() as client:
            text = client.get(f"http://127.0.0.1:{port}/v1/metrics").text
        for worker, count in pattern.findall(text):
            split[worker] = int(count)
    return dict(sorted(split.items()))


def measure_workers(
    folder: Path, scenarios: dict[str, Cassette], seconds: float, rounds: int, driver: str, log: Path
) -> dict[str, Any]:
    """`nim-mock serve --workers N` for N in 1, 2 and the CPU count: chat at 64 connections, SSE at 16."""
    bodies = _bodies(scenarios)
    counts = sorted({1, 2, os.cpu_count() or 1})
    runs: dict[int, dict[str, list[float]]] = {n: {"chat": [], "sse": []} for n in counts}
    splits: dict[int, dict[str, int]] = {}
    for round_number in range(rounds):
        for workers in counts if round_number % 2 == 0 else counts[::-1]:
            server = Server("mock", folder, log, workers=workers)
            try:
                drive(driver, server, "chat", bodies["chat"], 4, 1)
                runs[workers]["chat"].append(
                    drive(driver, server, "chat", bodies["chat"], 64, seconds)["per_s"]
                )
                runs[workers]["sse"].append(drive(driver, server, "sse", bodies["sse"], 16, seconds)["per_s"])
                if workers > 1:
                    splits[workers] = _worker_split(server.port, workers)
            finally:
                server.close()
    base = {scenario: max(runs[1][scenario]) for scenario in ("chat", "sse")}
    return {
        str(workers): {
            "chat_requests_per_s_64_connections": round(max(by["chat"])),
            "sse_events_per_s_16_connections": round(max(by["sse"])),
            "chat_scaling": round(max(by["chat"]) / base["chat"], 3),
            "sse_scaling": round(max(by["sse"]) / base["sse"], 3),
            "chat_requests_by_worker_last_round": splits.get(workers, {}),
            "rounds": {scenario: [round(v) for v in values] for scenario, values in by.items()},
        }
        for workers, by in runs.items()
    }


# -- the app alone, without a server -----------------------------------------------------------------


def _asgi_scope(path: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }


async def _asgi_call(app: Any, path: str, body: bytes) -> int:
    """One request straight into ``app``; returns the response's status. After the body, ``receive``
    waits (a client still connected), as a server's does, so a streaming response is not told of a
    hang-up."""
    delivered = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_asgi_scope(path, body), receive, send)
    return status


def measure_app(folder: Path, scenarios: dict[str, Cassette], rounds: int) -> dict[str, Any]:
    """The apps' own time per answer (wall clock, one thread, nothing else on the loop), called
    in-process with no server or socket: what the mock's app does beyond a bare route, apart from
    the HTTP work both servers share. The mock logs as
    ``nim-mock serve`` does (its request-log sink, to /dev/null)."""
    from nim_mock.serve.request_log import RequestLogHandler

    with open(os.devnull, "w") as devnull:
        log = RequestLogHandler(devnull)
        mock = create_app(load_cassettes([folder]), request_log=log.write_entry)
        apps = {"mock": mock, "bare": _bare_app(folder)}
        calls = {"chat": 2000, "sse": 20}

        async def per_call_us(kind: str, scenario: str, body: bytes) -> float:
            path = PATHS[kind][scenario]
            assert await _asgi_call(apps[kind], path, body) == 200, (kind, scenario)
            started = time.perf_counter()
            for _ in range(calls[scenario]):
                await _asgi_call(apps[kind], path, body)
            return (time.perf_counter() - started) / calls[scenario] * 1e6

        async def run() -> dict[str, Any]:
            results: dict[str, Any] = {}
            for scenario, body in _bodies(scenarios).items():
                payload = json.dumps(body).encode()
                timings: dict[str, list[float]] = {"mock": [], "bare": []}
                for round_number in range(rounds):
                    for kind in ("mock", "bare") if round_number % 2 == 0 else ("bare", "mock"):
                        timings[kind].append(await per_call_us(kind, scenario, payload))
                mock_us, bare_us = min(timings["mock"]), min(timings["bare"])
                results[scenario] = {
                    "mock_us_per_answer": round(mock_us, 1),
                    "bare_us_per_answer": round(bare_us, 1),
                    "mock_extra_us": round(mock_us - bare_us, 1),
                    "ratio": round(bare_us / mock_us, 3),
                }
            log.flush()
            return results

        return asyncio.run(run())


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


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating which server goes first")
    parser.add_argument("--timing-repeats", type=int, default=5, help="streams replayed at speed 1")
    parser.add_argument(
        "--driver",
        choices=("wrk", "python"),
        default="wrk",
        help="load generator: wrk (default; Debian: apt-get install -y wrk) or the built-in Python client",
    )
    parser.add_argument(
        "--sections",
        default="throughput,app,workers,timing,startup",
        help="comma-separated subset of throughput,app,workers,timing,startup",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "mock.json")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    if args.driver == "wrk" and find_wrk() is None:
        parser.exit(2, f"bench_mock: {WRK_HINT}\n")

    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_1m_at_start": round(os.getloadavg()[0], 2),
        },
        "settings": {
            "seconds": args.seconds,
            "rounds": args.rounds,
            "driver": args.driver,
            "connections": list(CONNECTIONS),
        },
    }
    with tempfile.TemporaryDirectory(prefix="bench-mock-") as scratch_name:
        scratch = Path(scratch_name)
        folder = scratch / "cassettes"
        scenarios = write_cassettes(folder)
        log = scratch / "mock-stderr.log"
        if "throughput" in sections:
            results["throughput"] = measure_throughput(
                folder, scenarios, args.seconds, args.rounds, args.driver, log
            )
        if "app" in sections:
            results["app_in_process"] = measure_app(folder, scenarios, args.rounds)
        if "workers" in sections:
            results["workers"] = measure_workers(
                folder, scenarios, args.seconds, args.rounds, args.driver, log
            )
        if "timing" in sections:
            results["timing_fidelity_speed_1"] = measure_timing(folder, scenarios, args.timing_repeats)
        if "startup" in sections:
            results["startup_500_cassettes"] = measure_startup(scratch)
        results["mock_log_lines"] = len(log.read_text().splitlines()) if log.exists() else 0
    results["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")

    if "throughput" in results:
        rows = []
        for scenario, label, unit in (("chat", "non-streamed chat", "req/s"), ("sse", "SSE", "events/s")):
            for connections, row in results["throughput"][scenario].items():
                rows.append(
                    (
                        f"{label} {unit}, {connections} conn",
                        str(row["mock"]),
                        str(row["bare"]),
                        f"{row['ratio']:.2f}",
                        f"{row['paired_ratio_median']:.2f}",
                        f">= {TARGETS[scenario]:.2f}",
                        f"{row['mock_cpu_us_per_response']} / {row['bare_cpu_us_per_response']}",
                        f"{row['cpu_ratio']:.2f}",
                    )
                )
        print(
            f"mock (nim-mock serve, log level info) vs bare Starlette, best of {args.rounds} rounds "
            f"(paired: median of the rounds' ratios), driver {args.driver}"
            + (", servers on one CPU and the load on the others" if results["throughput"]["pinned"] else "")
        )
        _table(
            rows,
            (
                "measure",
                "mock",
                "bare",
                "ratio",
                "paired",
                "target",
                "server CPU µs/resp mock / bare",
                "cpu ratio",
            ),
        )
        print()
    if "app_in_process" in results:
        rows = [
            (
                "non-streamed chat" if scenario == "chat" else f"SSE, {STREAM_EVENTS} events",
                str(row["mock_us_per_answer"]),
                str(row["bare_us_per_answer"]),
                str(row["mock_extra_us"]),
                f"{row['ratio']:.2f}",
            )
            for scenario, row in results["app_in_process"].items()
        ]
        print(f"the apps alone, called in-process (no server), best of {args.rounds} rounds")
        _table(rows, ("answer", "mock µs", "bare µs", "mock extra µs", "bare/mock"))
        print()
    if "workers" in results:
        rows = [
            (
                workers,
                str(row["chat_requests_per_s_64_connections"]),
                f"{row['chat_scaling']:.2f}",
                str(row["sse_events_per_s_16_connections"]),
                f"{row['sse_scaling']:.2f}",
                " / ".join(str(n) for n in row["chat_requests_by_worker_last_round"].values()) or "-",
            )
            for workers, row in results["workers"].items()
        ]
        print(f"nim-mock serve --workers N on {os.cpu_count()} CPUs, best of {args.rounds} rounds")
        _table(
            rows,
            (
                "workers",
                "chat req/s (64 conn)",
                "x1",
                "SSE events/s (16 conn)",
                "x1",
                "chat requests by worker",
            ),
        )
        print()
    rows = []
    if "timing_fidelity_speed_1" in results:
        timing = results["timing_fidelity_speed_1"]
        rows += [
            ("median |gap error| at speed 1", f"{timing['median_abs_gap_error_ms']} ms", "< 2 ms"),
            ("p95 |gap error| at speed 1", f"{timing['p95_abs_gap_error_ms']} ms", ""),
        ]
    if "startup_500_cassettes" in results:
        startup = results["startup_500_cassettes"]
        rows += [
            ("start to ready, 500 cassettes, in-process", f"{startup['in_process_s']} s", "< 1 s"),
            ("start to ready, 500 cassettes, nim-mock serve", f"{startup['cli_subprocess_s']} s", "< 1 s"),
        ]
    if rows:
        _table(rows, ("measure", "value", "target"))
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "_serve":
        serve_child(sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]))
    else:
        main()
