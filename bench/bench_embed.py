"""Benchmark the mock's embeddings endpoint against a bare Starlette app sending the same bytes.

    python bench/bench_embed.py [--seconds 3] [--rounds 3] [--connections 1 16]

Prints a table and writes bench/results/embed.json. For ``nvidia/nv-embedqa-e5-v5`` (1024
dimensions) at batch 1 and at the model's max batch (50 inputs), three servers answer the same
request with the same bytes:

- ``standin``: ``nim-mock serve --on-miss synthesize`` with no cassette, so every request is
  checked, embedded (feature hashing, float32 rounding) and rendered as JSON;
- ``replay``: ``nim-mock serve`` on one cassette holding that exchange (recorded from the stand-in);
- ``bare``: a Starlette route returning those bytes.

Each runs in its own process on a loopback port, as a user runs it (console script, ``--quiet``:
the request log is measured by bench_mock.py); wrk drives them (one thread). Figures per server:
requests/s (best of the rounds), vectors/s, and the server's CPU µs per request and per vector,
read from /proc around each run (steadier than requests/s on a shared machine). Ratios are
against the bare app measured in the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from _servers import serve_printing_port, settle, start_nim_mock, start_port_child, stop  # noqa: E402
from _wrk import WRK_HINT, find_wrk, run_wrk  # noqa: E402

from nim_mock import Cassette, Interaction, RecordedRequest, save_cassette  # noqa: E402
from nim_mock.cassette import RecordedResponse  # noqa: E402
from nim_mock.synth.embed import synthesize_embeddings  # noqa: E402
from nim_mock.synth.retrieval_models import EMBEDDING_MODELS  # noqa: E402

MODEL = "nvidia/nv-embedqa-e5-v5"
SERVERS = ("standin", "replay", "bare")
PASSAGE = (
    "NVIDIA NIM microservices package optimized inference engines, so a retrieval pipeline embeds "
    "its documents, reranks what it retrieves and answers with a chat model on one stack."
)


def request_body(batch: int) -> dict[str, Any]:
    """What NVIDIAEmbeddings.embed_documents sends for ``batch`` passages (each one distinct)."""
    texts = [f"{PASSAGE} Passage {i}." for i in range(batch)]
    return {
        "input": texts,
        "model": MODEL,
        "encoding_format": "float",
        "input_type": "passage",
        "truncate": "NONE",
    }


def answer(body: dict[str, Any]) -> RecordedResponse:
    response = synthesize_embeddings(body)
    assert isinstance(response, RecordedResponse), response
    return response


def write_cassettes(folder: Path, batches: list[int]) -> dict[int, RecordedResponse]:
    answers = {}
    for batch in batches:
        body = request_body(batch)
        answers[batch] = answer(body)
        request = RecordedRequest("POST", "/v1/embeddings", {"content-type": "application/json"}, body=body)
        cassette = Cassette(
            f"embed-{batch}", (Interaction(request, answers[batch]),), "bench: stand-in answer"
        )
        save_cassette(cassette, folder / f"embed-{batch}.json")
    return answers


def bare_app(batches: list[int]) -> Any:
    """A Starlette app answering ``/embed/<batch>`` with the stand-in's bytes for that batch."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    bodies = {batch: answer(request_body(batch)).body for batch in batches}

    async def endpoint(request: Request) -> Response:
        await request.body()
        return Response(bodies[int(request.path_params["batch"])], media_type="application/json")

    return Starlette(routes=[Route("/embed/{batch:int}", endpoint, methods=["POST"])])


class Server:
    def __init__(self, kind: str, folder: Path, batches: list[int]) -> None:
        self.kind = kind
        if kind == "bare":
            self.process, self.port = start_port_child(
                [__file__, "_serve_bare", ",".join(map(str, batches))], stderr=subprocess.DEVNULL
            )
            return
        args = ["serve", "--port", "0", "--quiet"]
        if kind == "standin":
            empty = folder / "empty"
            empty.mkdir(exist_ok=True)
            args += ["--cassettes", str(empty), "--on-miss", "synthesize"]
        else:
            args += ["--cassettes", str(folder / "replay")]
        self.process, banner = start_nim_mock(args)
        found = re.search(r"http://127\.0\.0\.1:(\d+)/v1", banner)
        if found is None:
            stop(self.process)
            raise RuntimeError(f"nim-mock serve did not announce a URL: {banner!r}")
        self.port = int(found.group(1))

    def url(self, batch: int) -> str:
        path = f"/embed/{batch}" if self.kind == "bare" else "/v1/embeddings"
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        stop(self.process, signal.SIGTERM)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    wrk = find_wrk()
    if wrk is None:
        raise SystemExit(WRK_HINT)
    batches = [1, EMBEDDING_MODELS[MODEL].max_batch]
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as scratch:
        folder = Path(scratch)
        (folder / "replay").mkdir()
        answers = write_cassettes(folder / "replay", batches)
        servers = {kind: Server(kind, folder, batches) for kind in SERVERS}
        try:
            for server in servers.values():  # warm up: imports, first connections, the matcher's caches
                for batch in batches:
                    body = json.dumps(request_body(batch)).encode()
                    run_wrk(
                        wrk, server.url(batch), body, connections=2, seconds=1, server_pid=server.process.pid
                    )
            for round_number in range(args.rounds):
                order = SERVERS if round_number % 2 == 0 else tuple(reversed(SERVERS))
                for batch in batches:
                    body = json.dumps(request_body(batch)).encode()
                    for connections in args.connections:
                        for kind in order:
                            server = servers[kind]
                            run = run_wrk(
                                wrk,
                                server.url(batch),
                                body,
                                connections=connections,
                                seconds=args.seconds,
                                server_pid=server.process.pid,
                            )
                            settle(server.process.pid)
                            runs.setdefault(f"{batch}/{connections}/{kind}", []).append(
                                {
                                    "per_s": run.per_second,
                                    "cpu_us": run.cpu_us_per_request,
                                    "errors": run.errors,
                                }
                            )
        finally:
            for server in servers.values():
                server.close()
    results = summarise(runs, batches, args.connections, {b: len(a.body) for b, a in answers.items()})
    print_table(results)
    out = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "settings": {"seconds": args.seconds, "rounds": args.rounds, "model": MODEL},
        "results": results,
    }
    target = ROOT / "bench" / "results" / "embed.json"
    target.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}")


def summarise(
    runs: dict[str, list[dict[str, Any]]], batches: list[int], connections: list[int], sizes: dict[int, int]
) -> list[dict[str, Any]]:
    rows = []
    for batch in batches:
        for conns in connections:
            best = {kind: max(r["per_s"] for r in runs[f"{batch}/{conns}/{kind}"]) for kind in SERVERS}
            cpu = {kind: min(r["cpu_us"] for r in runs[f"{batch}/{conns}/{kind}"]) for kind in SERVERS}
            errors = sum(r["errors"] for kind in SERVERS for r in runs[f"{batch}/{conns}/{kind}"])
            row: dict[str, Any] = {"batch": batch, "connections": conns, "response_bytes": sizes[batch]}
            for kind in SERVERS:
                row[kind] = {
                    "requests_per_s": round(best[kind], 1),
                    "vectors_per_s": round(best[kind] * batch, 1),
                    "cpu_us_per_request": round(cpu[kind], 1),
                    "cpu_us_per_vector": round(cpu[kind] / batch, 1),
                    "ratio_to_bare": round(best[kind] / best["bare"], 3),
                    "cpu_ratio_to_bare": round(cpu[kind] / cpu["bare"], 2),
                }
            row["errors"] = errors
            rows.append(row)
    return rows


def print_table(results: list[dict[str, Any]]) -> None:
    header = (
        "batch",
        "conns",
        "server",
        "req/s",
        "vectors/s",
        "CPU µs/req",
        "CPU µs/vector",
        "req/s vs bare",
    )
    lines = [header]
    for row in results:
        for kind in SERVERS:
            figures = row[kind]
            lines.append(
                (
                    str(row["batch"]),
                    str(row["connections"]),
                    kind,
                    f"{figures['requests_per_s']:,.0f}",
                    f"{figures['vectors_per_s']:,.0f}",
                    f"{figures['cpu_us_per_request']:,.0f}",
                    f"{figures['cpu_us_per_vector']:,.0f}",
                    f"{figures['ratio_to_bare']:.2f}",
                )
            )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
    errors = sum(row["errors"] for row in results)
    if errors:
        print(f"errors: {errors} (non-2xx or socket errors)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_serve_bare":
        serve_printing_port(bare_app([int(b) for b in sys.argv[2].split(",")]), log_level="error")
    else:
        main()
