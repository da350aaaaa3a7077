"""Instructions per non-streamed chat answer, the served mock against the bare Starlette app.

Usage:  .venv/bin/python bench/bench_instructions.py [--requests 4000] [--connections 16]

bench_mock's requests/s and CPU µs move by up to 1.6x between rounds on a shared machine; an
instruction count does not. Each server runs as its own process under valgrind's callgrind
(Debian: ``apt-get install -y valgrind``): the mock as ``nim-mock serve`` (at its default log level,
then at ``--log-level warning``, which shows what the request log costs), the bare app as
bench_mock's. After ``--warm-up`` requests the counters are zeroed (``callgrind_control -z``), then
``--requests`` chat requests go over ``--connections`` keep-alive connections from a minimal
asyncio client, and the counters are dumped (``callgrind_control -d``). The figure is that dump's
instructions divided by the requests: everything the server process did for them, the event loop
and the HTTP parsing included. ``PYTHONHASHSEED=0`` keeps the hashing the same from run to run.

Results go to stdout and ``bench/results/instructions.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _servers import ROOT
from bench_mock import PATHS, _bodies, _read_response_after, _request_bytes, write_cassettes

RESULTS = ROOT / "bench" / "results" / "instructions.json"
VARIANTS: dict[str, tuple[str, ...]] = {
    "bare": (),
    "mock": (),
    "mock --log-level warning": ("--log-level", "warning"),
}


def _start(variant: str, folder: Path, out: Path) -> tuple[subprocess.Popen[str], int]:
    """The server of ``variant`` under callgrind, and the port it serves on."""
    valgrind = ["valgrind", "--tool=callgrind", "-q", f"--callgrind-out-file={out}/callgrind.%p"]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if variant == "bare":  # bench_mock's child prints its port
        argv = [sys.executable, str(ROOT / "bench" / "bench_mock.py"), "_serve", "bare", str(folder), "0"]
        port_in = re.compile(r"(\d+)\n")
    else:  # nim-mock serve announces http://127.0.0.1:PORT/v1
        argv = [sys.executable, "-m", "nim_mock.cli", "serve", "--cassettes", str(folder), "--port", "0"]
        argv += VARIANTS[variant]
        port_in = re.compile(r".*127\.0\.0\.1:(\d+)/v1.*\n")
    process = subprocess.Popen(
        [*valgrind, *argv], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = port_in.fullmatch(line)
    if found is None:
        process.kill()
        raise SystemExit(f"{variant}: the server did not say its port; it printed {line!r}")
    return process, int(found.group(1))


async def _load(port: int, request: bytes, requests: int, connections: int) -> None:
    async def connection(count: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(count):
                status = await _read_response_after(writer, reader, request, lambda chunk: None)
                assert status == 200, status
        finally:
            writer.close()

    share, rest = divmod(requests, connections)
    await asyncio.gather(*(connection(share + (i < rest)) for i in range(connections)))


def _dumped_instructions(out: Path, pid: int) -> int:
    """The instructions of the dump ``callgrind_control -d`` asked for (the file ending ``.1``)."""
    for line in (out / f"callgrind.{pid}.1").read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise SystemExit(f"no instruction total in {out / f'callgrind.{pid}.1'}")


def measure(variant: str, folder: Path, body: dict[str, Any], args: argparse.Namespace) -> float:
    """Instructions per answer of one server."""
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as out_name:
        out = Path(out_name)
        process, port = _start(variant, folder, out)
        request = _request_bytes(PATHS["bare" if variant == "bare" else "mock"]["chat"], body)
        try:
            asyncio.run(_load(port, request, args.warm_up, args.connections))
            subprocess.run(["callgrind_control", "-z", str(process.pid)], check=True, capture_output=True)
            asyncio.run(_load(port, request, args.requests, args.connections))
            subprocess.run(["callgrind_control", "-d", str(process.pid)], check=True, capture_output=True)
            deadline = time.monotonic() + 30
            while not (out / f"callgrind.{process.pid}.1").exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            return _dumped_instructions(out, process.pid) / args.requests
        finally:
            process.terminate()
            process.wait(60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000, help="chat requests counted per server")
    parser.add_argument("--warm-up", type=int, default=800, help="requests before the counters are zeroed")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    args = parser.parse_args()
    if args.requests < 1 or args.warm_up < 1 or args.connections < 1:
        parser.error("--requests, --warm-up and --connections must be >= 1")
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        parser.exit(2, "bench_instructions: needs valgrind (Debian: apt-get install -y valgrind)\n")
    with tempfile.TemporaryDirectory(prefix="bench-instructions-cassettes-") as folder_name:
        folder = Path(folder_name)
        body = _bodies(write_cassettes(folder))["chat"]
        per_answer = {variant: measure(variant, folder, body, args) for variant in VARIANTS}
    bare = per_answer["bare"]
    print(f"instructions per chat answer ({args.requests} requests, {args.connections} connections)")
    for variant, count in per_answer.items():
        print(f"{variant:<26} {count:>10,.0f}  {count / bare:.3f}x bare")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"settings": vars(args), "per_answer": per_answer}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
