"""Time to first event through ``nim-mock record`` vs straight to the upstream, in one run.

    python bench/bench_proxy.py [--requests 150] [--events 4] [--gap-ms 15] [--first-ms 20]

Prints a table and writes bench/results/proxy.json. The upstream is a Starlette app on uvicorn in
its own subprocess that streams slowly like a model: the first event ``--first-ms`` after the
request (prefill), then one event every ``--gap-ms``. The proxy is the real console script,
``nim-mock record --upstream <upstream>``, also a subprocess (writing a cassette per exchange to a
temporary folder, as a user would run it). This process is the client.

Direct and proxied requests alternate one by one, so both see the same machine load; each pair gives
one difference (proxied - direct). Reported: median and p95 of the time to first event of each path
and of the paired differences, in ms. Time to first event = from just before the request is sent to
the moment the first complete ``data: ...\\n\\n`` event has been read by the client (raw bytes, no
parsing beyond finding the blank line). Target: the median difference within a few ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from _servers import serve_printing_port, start_nim_mock, start_port_child, stop, token_event  # noqa: E402

MODEL = "bench/slow-model"


def _chunk(i: int) -> bytes:
    return token_event(i, model=MODEL, chunk_id="chatcmpl-bench")


def serve_upstream(events: int, gap_ms: float, first_ms: float) -> None:
    """The slow upstream (runs in the subprocess): prints its port, then serves until SIGTERM/SIGINT."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    async def chat(request: Request) -> Response:
        await request.body()

        async def stream() -> Any:
            start = time.perf_counter()
            for i in range(events):
                due = start + (first_ms + i * gap_ms) / 1000.0
                await asyncio.sleep(max(due - time.perf_counter(), 0.0))
                yield _chunk(i)
            yield b"data: [DONE]\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    serve_printing_port(Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])]))


def time_to_first_event(client: httpx.Client, url: str, body: bytes) -> float:
    """Milliseconds from sending the request to holding the first whole event; reads the rest too."""
    start = time.perf_counter()
    first = 0.0
    seen = b""
    with client.stream("POST", url, content=body, headers={"content-type": "application/json"}) as response:
        for chunk in response.iter_raw():
            if not first:
                seen += chunk
                if b"\n\n" in seen:
                    first = (time.perf_counter() - start) * 1000.0
    if not first:
        raise RuntimeError(f"{url} sent no complete event (status {response.status_code})")
    return first


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def run(requests: int, events: int, gap_ms: float, first_ms: float) -> dict[str, Any]:
    upstream, upstream_port = start_port_child(
        [__file__, "--serve-upstream", str(events), str(gap_ms), str(first_ms)]
    )
    proxy: subprocess.Popen[str] | None = None
    try:
        upstream_url = f"http://127.0.0.1:{upstream_port}/v1"
        folder = tempfile.mkdtemp(prefix="bench-proxy-")
        env = {k: v for k, v in os.environ.items() if k not in ("NVIDIA_API_KEY", "NIM_REDACT")}
        proxy, announce = start_nim_mock(
            ["record", "--upstream", upstream_url, "--cassettes", folder, "--port", "0"],
            stderr=subprocess.DEVNULL,
            env=env,
        )
        found = re.search(r"recording (http://\S+/v1) ", announce)
        if not found:
            raise RuntimeError("nim-mock record did not announce its URL")
        proxy_url = found.group(1)
        body = json.dumps(
            {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "stream": True}
        ).encode()
        direct: list[float] = []
        proxied: list[float] = []
        with httpx.Client(timeout=30.0) as client:
            for _ in range(5):  # warm-up: imports, connection pools, first-request paths
                time_to_first_event(client, upstream_url + "/chat/completions", body)
                time_to_first_event(client, proxy_url + "/chat/completions", body)
            for i in range(requests):
                pair = [("direct", upstream_url), ("proxied", proxy_url)]
                for kind, base in pair if i % 2 == 0 else pair[::-1]:  # alternate which goes first
                    ttfe = time_to_first_event(client, base + "/chat/completions", body)
                    (direct if kind == "direct" else proxied).append(ttfe)
        written = len(list(Path(folder).glob("*.json")))
    finally:
        stop(proxy)
        stop(upstream)
    differences = [p - d for p, d in zip(proxied, direct, strict=True)]
    return {
        "requests_per_path": requests,
        "upstream": {"events": events, "first_event_ms": first_ms, "gap_ms": gap_ms},
        "direct_ms": {"median": statistics.median(direct), "p95": _p95(direct)},
        "proxied_ms": {"median": statistics.median(proxied), "p95": _p95(proxied)},
        "difference_ms": {"median": statistics.median(differences), "p95": _p95(differences)},
        "cassettes_written": written,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-upstream":
        serve_upstream(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=150, help="requests per path (default 150)")
    parser.add_argument("--events", type=int, default=4, help="events per stream (default 4)")
    parser.add_argument("--gap-ms", type=float, default=15.0, help="gap between events (default 15)")
    parser.add_argument("--first-ms", type=float, default=20.0, help="first event after (default 20)")
    args = parser.parse_args()
    result = run(args.requests, args.events, args.gap_ms, args.first_ms)
    print(f"time to first event, {args.requests} requests per path, alternating (ms)")
    print(f"{'':<22}{'median':>10}{'p95':>10}")
    for label, key in (
        ("direct", "direct_ms"),
        ("through nim-mock", "proxied_ms"),
        ("difference", "difference_ms"),
    ):
        print(f"{label:<22}{result[key]['median']:>10.2f}{result[key]['p95']:>10.2f}")
    print(f"cassettes written by the proxy: {result['cassettes_written']}")
    out = ROOT / "bench" / "results" / "proxy.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
