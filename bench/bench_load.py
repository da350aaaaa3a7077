"""Load: 200 concurrent streaming clients against `nim-mock serve --on-miss synthesize` for 30 s.

    python bench/bench_load.py [--seconds 30] [--clients 200] [--speed 1] [--tokens-per-s 50] [--ttft-ms 200]

Prints a table and writes bench/results/load.json. The server is the console script as a user runs
it (`nim-mock serve --on-miss synthesize --port 0`, bundled cassettes loaded, log level warning), in
its own process on a loopback port. Every request is a distinct chat prompt, so none matches a
cassette and every answer is synthesized and paced (at --speed 1: TTFT, then --tokens-per-s).

Clients are httpx.AsyncClient streams on one event loop, bounded by one connection pool of
--clients connections; each client loops request after request until the time is up. A warm-up
round opens the connections over a ramp (5 ms apart: 200 connects at the same instant make httpx
report ReadErrors on this machine while a raw asyncio client sees none) and is counted too. A request
counts as an error unless it got 200, the synthesized header, and a stream ending in `data: [DONE]`.

Figures: errors (target 0), requests and SSE events received per second, and the server's
resident memory (VmRSS from /proc/<pid>/status) after warm-up, at its peak and at the end
(target flat: the end within a few MiB of the start).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _servers import cpu_s, rss_kib, start_nim_mock, stop

ROOT = Path(__file__).resolve().parent.parent
MODEL = "meta/llama-3.1-8b-instruct"
DONE = b"data: [DONE]\n\n"
RAMP_S = 0.005


class Tally:
    def __init__(self) -> None:
        self.requests = 0
        self.started = time.monotonic()
        self.events = 0
        self.errors: dict[str, int] = {}
        self.first_errors: list[str] = []

    def error(self, kind: str, detail: str = "") -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"{kind} {detail}".strip())


async def one_client(
    client: httpx.AsyncClient, url: str, number: int, deadline: float, tally: Tally, ramp_s: float = 0.0
) -> None:
    await asyncio.sleep(ramp_s)
    turn = 0
    while time.monotonic() < deadline:
        turn += 1
        body = {
            "model": MODEL,
            "messages": [{"role": "user", "content": f"client {number} asks question {turn}"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        got_headers = False
        try:
            async with client.stream("POST", url, json=body) as response:
                got_headers = True
                tail = b""
                events = 0
                async for chunk in response.aiter_raw():
                    events += chunk.count(b"\n\n")
                    tail = (tail + chunk)[-len(DONE) :]
            if response.status_code != 200:
                tally.error(f"status {response.status_code}")
            elif response.headers.get("x-nim-mock-synthesized") != "1":
                tally.error("not synthesized")
            elif tail != DONE:
                tally.error("no [DONE]")
            else:
                tally.requests += 1
                tally.events += events
        except httpx.HTTPError as error:
            where = "mid-stream" if got_headers else "before the response"
            tally.error(f"{type(error).__name__} {where}", f"at {time.monotonic() - tally.started:.1f} s")


async def drive(url: str, clients: int, seconds: float, pid: int) -> dict[str, Any]:
    # keepalive_expiry below uvicorn's 5 s keep-alive timeout: a pooled connection the server is
    # about to close is never reused (that race reads as a ReadError on the next request).
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=4.0)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0)) as client:
        warm = Tally()  # one short round first, so the start figure is the warmed-up server
        # Connections open over a ramp (RAMP_S apart), then stay open in the pool.
        warm_until = time.monotonic() + clients * RAMP_S + 1.0
        await asyncio.gather(
            *(one_client(client, url, -i - 1, warm_until, warm, i * RAMP_S) for i in range(clients))
        )
        rss_start = rss_kib(pid)
        cpu_start = cpu_s(pid), time.process_time()
        tally = Tally()
        samples: list[int] = []
        started = time.monotonic()
        deadline = started + seconds

        async def sample() -> None:
            while time.monotonic() < deadline:
                samples.append(rss_kib(pid))
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample())
        await asyncio.gather(*(one_client(client, url, i, deadline, tally) for i in range(clients)))
        elapsed = time.monotonic() - started
        server_cpu, client_cpu = cpu_s(pid) - cpu_start[0], time.process_time() - cpu_start[1]
        await sampler
    await asyncio.sleep(0.5)  # let the server finish its last responses before the end figure
    rss_end = rss_kib(pid)
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": tally.requests,
        "events": tally.events,
        "errors": sum(tally.errors.values()) + sum(warm.errors.values()),
        "error_kinds": {**warm.errors, **tally.errors},
        "requests_per_s": round(tally.requests / elapsed, 1),
        "events_per_s": round(tally.events / elapsed, 1),
        "server_cpu_percent": round(100 * server_cpu / elapsed, 1),
        "client_cpu_percent": round(100 * client_cpu / elapsed, 1),
        "first_errors": warm.first_errors + tally.first_errors,
        "rss_start_mib": round(rss_start / 1024, 1),
        "rss_peak_mib": round(max([rss_start, rss_end, *samples]) / 1024, 1),
        "rss_end_mib": round(rss_end / 1024, 1),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryFile("w+") as log:
        command = ["serve", "--port", "0", "--log-level", "warning", "--on-miss", "synthesize"]
        command += ["--speed", str(args.speed), "--tokens-per-s", str(args.tokens_per_s)]
        command += ["--ttft-ms", str(args.ttft_ms)]
        server, announce = start_nim_mock(command, stderr=log)
        try:
            if "/v1" not in announce:
                log.seek(0)
                raise RuntimeError(f"nim-mock serve did not start: {announce!r} {log.read()[-2000:]}")
            base = announce.split(" on ", 1)[1].split()[0]
            result = asyncio.run(drive(base + "/chat/completions", args.clients, args.seconds, server.pid))
        finally:
            stop(server, signal.SIGTERM, timeout=15)
            log.seek(0)
            result_log = log.read()
    result["server_log_tail"] = result_log[-3000:]
    result["server"] = {"speed": args.speed, "tokens_per_s": args.tokens_per_s, "ttft_ms": args.ttft_ms}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--speed", type=float, default=1.0, help="server --speed (0 = no pacing)")
    parser.add_argument("--tokens-per-s", type=float, default=50.0)
    parser.add_argument("--ttft-ms", type=float, default=200.0)
    args = parser.parse_args()
    result = run(args)
    result["machine"] = {
        "python": platform.python_version(),
        "cpus": _cpus(),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
    }
    rows = [
        ("clients", f"{result['clients']}"),
        ("duration", f"{result['seconds']} s"),
        ("requests (ok)", f"{result['requests']} ({result['requests_per_s']}/s)"),
        ("SSE events", f"{result['events']} ({result['events_per_s']}/s)"),
        ("errors", f"{result['errors']} {result['error_kinds'] or ''}".strip()),
        (
            "CPU server / client",
            f"{result['server_cpu_percent']}% / {result['client_cpu_percent']}% of one core",
        ),
        (
            "server RSS start/peak/end",
            f"{result['rss_start_mib']} / {result['rss_peak_mib']} / {result['rss_end_mib']} MiB",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    out = ROOT / "bench" / "results" / "load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
