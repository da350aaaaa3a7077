"""What nim-harness costs before it does anything: ``--help``, server start-up, idle memory, plugin load.

    python bench/bench_startup.py [--rounds 11] [--pytest-rounds 30]

Prints a table and writes bench/results/startup.json. Four ratios, each against a baseline measured
in the same run, in alternating rounds (which of the pair goes first alternates too), reported as
the median of the per-round ratios next to the median times:

1. ``nim-mock --help`` vs ``uvicorn --help``, both this venv's console scripts (target <= 1.5x);
2. ``nim-mock serve`` (bundled cassettes) from spawn until ``GET /v1/health/ready`` answers 200, vs
   ``uvicorn bare_app:app``, a one-route Starlette app this script writes, until the same route
   answers (target <= 1.5x);
3. the resident memory (VmRSS) of each of those two servers once it has answered (target <= 1.5x);
4. ``pytest --co -q`` on an empty test file in a fresh folder, with the plugin vs without it
   (target <= 1.05x), twice: with every installed plugin (``-p no:nim_harness`` for "without"), and
   with plugin autoloading off, so the plugin is measured against pytest alone (``-p nim_harness``
   for "with"). The second is what a project that installs only pytest and nim-harness pays.

Both servers listen on a port picked just before the spawn and are polled with a raw HTTP/1.1
request every 2 ms (connection refused = not up yet), so the client costs the same for both.

Bytecode: pip compiled uvicorn's and Starlette's modules when it installed them, but an editable
install compiles nim-harness's own on first import, and not at all under PYTHONDONTWRITEBYTECODE
(set on the dev machines): every start would then compile ~12,000 lines from source, a cost no
installed copy pays. The children therefore run without that variable, after one unmeasured
warm-up run of each command, so both sides load cached bytecode as an installed package does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from _servers import console_script, nim_mock_command, rss_kib, stop  # noqa: E402

READY_PATH = "/v1/health/ready"
BARE_APP = '''\
"""The baseline server: Starlette on uvicorn answering the one route the benchmark polls."""

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def ready(request):
    return JSONResponse({"object": "health-response", "message": "Service is ready."})


app = Starlette(routes=[Route("/v1/health/ready", ready)])
'''
POLL_S = 0.002
START_TIMEOUT_S = 30.0
SETTLE_S = 0.3
"""After the first answer, how long a server idles before its memory is read (lazy start-up work
such as a first request's imports has happened by then)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    """Whether ``GET READY_PATH`` on ``port`` answers 200 now (False while nothing listens)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(
                f"GET {READY_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
            )
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:  # refused: not listening yet; reset: listening but not serving yet
        return False


Sample = dict[str, float]
"""One run's figures: ``wall_s``, ``cpu_s`` and, for servers, ``rss_mib``."""


def _ratio_rounds(rounds: int, measure: Callable[[str], Sample]) -> dict[str, Any]:
    """Run ``measure("ours")`` and ``measure("baseline")`` ``rounds`` times, alternating which goes
    first, after one unmeasured warm-up run of each (it writes the bytecode caches, warms the file cache).

    For each figure: the median of each kind and the median of the per-round ratios ours/baseline."""
    kinds = ("ours", "baseline")
    for kind in kinds:
        measure(kind)
    samples: dict[str, list[Sample]] = {kind: [] for kind in kinds}
    for i in range(rounds):
        for kind in kinds if i % 2 == 0 else kinds[::-1]:
            samples[kind].append(measure(kind))
    ours, baseline = (samples[kind] for kind in kinds)
    result: dict[str, Any] = {}
    for figure in ours[0]:
        mine, theirs = [s[figure] for s in ours], [s[figure] for s in baseline]
        result[figure] = {
            "median_ours": statistics.median(mine),
            "median_baseline": statistics.median(theirs),
            "median_ratio": statistics.median(o / b for o, b in zip(mine, theirs, strict=True)),
            "rounds": {"ours": [round(v, 4) for v in mine], "baseline": [round(v, 4) for v in theirs]},
        }
    return result


def _child_environment() -> dict[str, str]:
    """This process's environment with bytecode writing allowed (see the module docstring) and no
    PYTEST_ADDOPTS (options from the shell would change what the pytest runs load)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTEST_ADDOPTS")}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed_run(argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Sample:
    """Wall time of ``argv`` to exit, and the CPU time it used (every earlier child has been waited for)."""
    cpu = _children_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or _child_environment(), cwd=cwd
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 5):  # pytest exits 5 when it collected no test: expected here
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return {"wall_s": elapsed, "cpu_s": _children_cpu_s() - cpu}


def measure_help(rounds: int) -> dict[str, Any]:
    commands = {
        "ours": [*nim_mock_command(), "--help"],
        "baseline": [*console_script("uvicorn", "uvicorn"), "--help"],
    }
    return _ratio_rounds(rounds, lambda kind: _timed_run(commands[kind]))


def _cpu_so_far_s(pid: int) -> float:
    """CPU time ``pid`` has run so far, in ns resolution (the first field of /proc/<pid>/schedstat)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


def _start_and_wait(argv: Sequence[str], cwd: Path, port: int) -> Sample:
    """Spawn ``argv`` and poll ``port`` until it answers: the wall and CPU time until then, and the
    resident memory after ``SETTLE_S`` more."""
    errors = cwd / "server-stderr.txt"
    with errors.open("wb") as stderr:  # a file, not a pipe: a chatty server can never block on it
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr, env=_child_environment()
        )
    try:
        while not _answers(port):
            if process.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited {process.returncode}: {errors.read_text()[-2000:]}")
            if time.perf_counter() - started > START_TIMEOUT_S:
                raise RuntimeError(f"{' '.join(argv)} did not answer within {START_TIMEOUT_S:g} s")
            time.sleep(POLL_S)
        ready = {"wall_s": time.perf_counter() - started, "cpu_s": _cpu_so_far_s(process.pid)}
        time.sleep(SETTLE_S)
        return ready | {"rss_mib": rss_kib(process.pid) / 1024}
    finally:
        stop(process)


def measure_servers(rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-startup-serve-") as scratch_name:
        scratch = Path(scratch_name)
        (scratch / "bare_app.py").write_text(BARE_APP)
        return _ratio_rounds(rounds, lambda kind: _start_server(kind, scratch))


def _start_server(kind: str, scratch: Path) -> Sample:
    """One start of ``nim-mock serve`` (ours) or of the bare app on uvicorn (baseline)."""
    port = _free_port()
    if kind == "ours":
        argv = [*nim_mock_command(), "serve", "--port", str(port), "--log-level", "warning"]
    else:
        uvicorn = console_script("uvicorn", "uvicorn")
        argv = [*uvicorn, "bare_app:app", "--port", str(port), "--log-level", "warning"]
    return _start_and_wait(argv, scratch, port)


def measure_pytest(rounds: int, *, autoload: bool) -> dict[str, Any]:
    env = _child_environment()
    base = [sys.executable, "-m", "pytest", "--co", "-q", "test_empty.py"]
    if autoload:
        env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        commands = {"ours": base, "baseline": [*base, "-p", "no:nim_harness"]}
    else:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        commands = {"ours": [*base, "-p", "nim_harness"], "baseline": base}
    with tempfile.TemporaryDirectory(prefix="bench-startup-pytest-") as folder:
        (Path(folder) / "test_empty.py").write_text("")
        return _ratio_rounds(rounds, lambda kind: _timed_run(commands[kind], env=env, cwd=Path(folder)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=11, help="rounds of --help and of server start-up")
    parser.add_argument("--pytest-rounds", type=int, default=30, help="rounds of each pytest comparison")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "startup.json")
    args = parser.parse_args()

    help_ = measure_help(args.rounds)
    servers = measure_servers(args.rounds)
    pytest_all = measure_pytest(args.pytest_rounds, autoload=True)
    pytest_alone = measure_pytest(args.pytest_rounds, autoload=False)
    results = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "settings": {"rounds": args.rounds, "pytest_rounds": args.pytest_rounds},
        "help": help_,
        "serve": servers,
        "pytest_collect_all_plugins": pytest_all,
        "pytest_collect_plugin_alone": pytest_alone,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")

    rows = [
        ("nim-mock --help vs uvicorn --help", help_, 1.5),
        ("serve: spawn to /v1/health/ready", servers, 1.5),
        ("pytest --co, all plugins installed", pytest_all, 1.05),
        ("pytest --co, the plugin alone", pytest_alone, 1.05),
    ]
    print(f"{'measure':<36} {'wall ours':>10} {'baseline':>9} {'ratio':>6} {'CPU ratio':>9} {'target':>7}")
    for label, result, target in rows:
        wall, cpu = result["wall_s"], result["cpu_s"]
        print(
            f"{label:<36} {wall['median_ours'] * 1000:>7.1f} ms {wall['median_baseline'] * 1000:>6.1f} ms "
            f"{wall['median_ratio']:>5.2f}x {cpu['median_ratio']:>8.2f}x {target:>6}x"
        )
    rss = servers["rss_mib"]
    print(
        f"{'serve: idle RSS once ready':<36} {rss['median_ours']:>6.1f} MiB "
        f"{rss['median_baseline']:>5.1f} MiB {rss['median_ratio']:>5.2f}x {'':>9} {1.5:>6}x"
    )
    print(f"load average {os.getloadavg()[0]:.1f} at the end; wrote {args.out}")


if __name__ == "__main__":
    main()
