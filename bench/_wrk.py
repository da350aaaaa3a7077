"""Driving a server with wrk, and reading back what it did: requests/s, errors, the server's CPU time.

wrk (https://github.com/wg/wrk) is the load generator: a C client on epoll, so at 64 connections
it still spends far less CPU per request than the Python servers it measures, which a client in
Python would not (it would become the bottleneck and every ratio would read 1.0). The server's CPU
seconds per request, read from /proc around each run, is the second figure: on a shared machine,
requests/s moves with the neighbours' load, CPU per request much less.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _servers import process_tree_cpu_s

WRK_HINT = (
    "wrk not found: install it (Debian/Ubuntu: `apt-get update && apt-get install -y wrk`; "
    "macOS: `brew install wrk`), or pass --driver python for the slower built-in client"
)

_POST_SCRIPT = """\
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
local file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = file:read("*a")
file:close()
"""


def find_wrk() -> str | None:
    return shutil.which("wrk")


@dataclass(frozen=True)
class WrkRun:
    """One wrk run: requests completed, over how many seconds, and the ones that went wrong."""

    requests: int
    seconds: float
    errors: int
    server_cpu_s: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else float("nan")


def run_wrk(wrk: str, url: str, body: bytes, *, connections: int, seconds: int, server_pid: int) -> WrkRun:
    """POST ``body`` to ``url`` on ``connections`` keep-alive connections for ``seconds`` (one wrk thread)."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as scratch:
        script, body_file = Path(scratch, "post.lua"), Path(scratch, "body.json")
        script.write_text(_POST_SCRIPT)
        body_file.write_bytes(body)
        cpu_before = process_tree_cpu_s(server_pid)
        result = subprocess.run(
            [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url],
            capture_output=True,
            text=True,
            env={"BENCH_BODY": str(body_file), "PATH": "/usr/bin:/bin"},
            check=False,
        )
        cpu = process_tree_cpu_s(server_pid) - cpu_before
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr.strip() or result.stdout}")
    return _parse(result.stdout, cpu)


def _parse(report: str, server_cpu_s: float) -> WrkRun:
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", report)
    if done is None:
        raise RuntimeError(f"unexpected wrk output:\n{report}")
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[done.group(3)]
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    return WrkRun(int(done.group(1)), float(done.group(2)) * scale, errors, server_cpu_s)
