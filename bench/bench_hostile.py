"""Hostile load: health latency and memory of `nim-mock serve --on-miss synthesize` while the worst
schemas of the bad-input battery run, against the same server idle, in one run.

    python bench/bench_hostile.py [--idle-s 5] [--rounds 5] [--probe-ms 10]

Prints a table and writes bench/results/hostile.json. The server is the console script as a user
runs it (`nim-mock serve --on-miss synthesize --port 0`, bundled cassettes loaded), in its own
process on a loopback port. The worst requests are ``WORST`` in tests/mock/hostile.py: the sizes of
issue 12 that froze the server (minLength, minItems, minProperties of 1e9, ``^a{1000000000}$``),
now refused at once, and the ones that cost most while still within the limits (``$ref`` fan-out
to the step limit, 120,000 items to the token limit, a 262,000-character string streamed, a
262,000-character pattern, 6,000 properties).

Phases, one after the other on the same server:

1. idle: a health probe (``GET /v1/health/ready`` on one keep-alive connection) every --probe-ms
   for --idle-s seconds, the server's VmRSS sampled every 50 ms;
2. each worst request alone, sent --rounds times one after the other, the probe and the RSS
   samples running throughout: "one request never stalls the others" is this phase;
3. all worst requests at once (one thread and connection each), --rounds times: a stress figure,
   where several requests share the server's CPU (and Python's GIL) with the probe.

Figures: health latency median / p95 / max in each phase and its ratio to idle, the server's RSS
at start, peak and end of each phase, and each worst request's status and median time.
Target: health within 100 ms while any one worst request runs, RSS bounded (MiB, not GiB).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from _servers import rss_kib, start_nim_mock, stop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "mock"))  # the battery's own catalogue of worst requests

from hostile import CHAT, WORST, render  # noqa: E402


class Probe:
    """Health checks every ``every_s`` and RSS samples every 50 ms, in threads, until ``stop``."""

    def __init__(self, base_url: str, pid: int, every_s: float) -> None:
        self.latencies_ms: list[float] = []
        self.rss_kib: list[int] = []
        self.failures: list[str] = []
        self._base_url = base_url
        self._pid = pid
        self._every_s = every_s
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._health), threading.Thread(target=self._memory)]

    def __enter__(self) -> Probe:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _health(self) -> None:
        with httpx.Client(timeout=120.0) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    status = client.get(self._base_url + "/v1/health/ready").status_code
                except httpx.HTTPError as error:
                    self.failures.append(f"{type(error).__name__}: {error}")
                    continue
                self.latencies_ms.append((time.perf_counter() - started) * 1000.0)
                if status != 200:
                    self.failures.append(f"status {status}")
                self._stop.wait(self._every_s)

    def _memory(self) -> None:
        while not self._stop.is_set():
            self.rss_kib.append(rss_kib(self._pid))
            self._stop.wait(0.05)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def _summary(probe: Probe) -> dict[str, Any]:
    """Latency and memory of one phase; a phase shorter than one probe has no latency (``None``)."""
    latencies = probe.latencies_ms
    health = (
        {"median": statistics.median(latencies), "p95": _percentile(latencies, 0.95), "max": max(latencies)}
        if latencies
        else None
    )
    return {
        "probes": len(latencies),
        "failures": probe.failures[:5],
        "health_ms": health,
        "rss_mib": {
            "start": probe.rss_kib[0] / 1024,
            "peak": max(probe.rss_kib) / 1024,
            "end": probe.rss_kib[-1] / 1024,
        },
    }


def _fire(
    client: httpx.Client, name: str, times: dict[str, list[float]], statuses: dict[str, set[int]]
) -> None:
    """Send the worst request ``name`` once on ``client``; note how long it took and what it got."""
    content = render(WORST[name])
    started = time.perf_counter()
    response = client.post(CHAT, content=content, headers={"content-type": "application/json"})
    times[name].append(time.perf_counter() - started)
    statuses[name].add(response.status_code)


def _phase(
    base_url: str, pid: int, probe_ms: float, rounds: int, names: list[str], requests: dict[str, Any]
) -> dict[str, Any]:
    """Probe while ``names`` are sent at once, ``rounds`` times; record each request's times."""
    times: dict[str, list[float]] = {name: [] for name in names}
    statuses: dict[str, set[int]] = {name: set() for name in names}
    clients = {name: httpx.Client(base_url=base_url, timeout=120.0) for name in names}
    try:
        for client in clients.values():  # connected before the clock starts
            client.get("/v1/health/live")
        with Probe(base_url, pid, probe_ms / 1000.0) as probe:
            for _ in range(rounds):
                workers = [
                    threading.Thread(target=_fire, args=(clients[n], n, times, statuses)) for n in names
                ]
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join()
    finally:
        for client in clients.values():
            client.close()
    for name in names:
        requests.setdefault(
            name, {"statuses": sorted(statuses[name]), "median_s": statistics.median(times[name])}
        )
    return _summary(probe)


def run(idle_s: float, rounds: int, probe_ms: float) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    process, banner = start_nim_mock(
        ["serve", "--on-miss", "synthesize", "--port", "0", "--log-level", "warning"], cwd=folder
    )
    requests: dict[str, Any] = {}
    phases: dict[str, Any] = {}
    try:
        base_url = banner.split(" on ", 1)[1].split("/v1", 1)[0]
        with Probe(base_url, process.pid, probe_ms / 1000.0) as idle:
            time.sleep(idle_s)
        phases["idle"] = _summary(idle)
        for name in WORST:
            phases[name] = _phase(base_url, process.pid, probe_ms, rounds, [name], requests)
        phases["all at once"] = _phase(base_url, process.pid, probe_ms, rounds, list(WORST), {})
    finally:
        stop(process)
    idle_health = phases["idle"]["health_ms"]
    for phase in phases.values():
        health = phase["health_ms"]
        phase["over_idle"] = (
            {key: health[key] / idle_health[key] for key in ("median", "p95", "max")} if health else None
        )
    return {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "settings": {"idle_s": idle_s, "rounds": rounds, "probe_ms": probe_ms},
        "phases": phases,
        "requests": requests,
    }


def _print(result: dict[str, Any]) -> None:
    print(
        f"{'while':<40}{'status':>8}{'req s':>8}{'probes':>8}{'health ms med/p95/max':>24}"
        f"{'x idle max':>11}{'RSS peak MiB':>14}"
    )
    for name, phase in result["phases"].items():
        health, request = phase["health_ms"], result["requests"].get(name)
        status = ",".join(map(str, request["statuses"])) if request else "-"
        seconds = f"{request['median_s']:.3f}" if request else "-"
        latency = f"{health['median']:.1f} / {health['p95']:.1f} / {health['max']:.1f}" if health else "-"
        ratio = f"{phase['over_idle']['max']:.2f}x" if health else "-"
        print(
            f"{name:<40}{status:>8}{seconds:>8}{phase['probes']:>8}{latency:>24}"
            f"{ratio:>11}{phase['rss_mib']['peak']:>14.1f}"
        )
        for failure in phase["failures"]:
            print(f"  failure: {failure}")
    idle = result["phases"]["idle"]["rss_mib"]
    print(
        f"RSS idle start {idle['start']:.1f} MiB; load average {result['machine']['load'][0]:.2f} at the end"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-s", type=float, default=5.0, help="seconds of the idle phase (default 5)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds of every worst request at once (default 5)"
    )
    parser.add_argument(
        "--probe-ms", type=float, default=10.0, help="pause between health probes (default 10)"
    )
    args = parser.parse_args()
    result = run(args.idle_s, args.rounds, args.probe_ms)
    _print(result)
    out = ROOT / "bench" / "results" / "hostile.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
