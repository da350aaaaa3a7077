"""Starting and stopping the servers a benchmark talks to, each in its own process on loopback.

A benchmark's client and its server must not share a GIL, so every server is a subprocess: either a
bench script re-run in a child mode that serves an app and prints its port (``serve_printing_port``
on the child side, ``start_port_child`` on the parent side), or the ``nim-mock`` console script as a
user runs it (``start_nim_mock``, which hands back its announce line). ``stop`` ends either kind.
``cpu_s`` and ``process_tree_cpu_s`` read how much CPU a server process (and its workers) used.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS line for pid {pid}")


def token_event(i: int, *, model: str, chunk_id: str) -> bytes:
    """The ``i``-th SSE event of a fake model's stream: one chat.completion.chunk carrying ``" tok<i>"``."""
    from nim_mock.cassette import compact_json

    chunk = {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": 1735689600,
        "model": model,
        "choices": [{"index": 0, "delta": {"content": f" tok{i}"}, "logprobs": None, "finish_reason": None}],
    }
    return b"data: " + compact_json(chunk) + b"\n\n"


def console_script(name: str, module: str) -> list[str]:
    """The argv prefix that runs the console script ``name`` of this venv, else ``python -m module``."""
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


def nim_mock_command() -> list[str]:
    """The argv prefix that runs ``nim-mock``: the venv's console script, else ``python -m``."""
    return console_script("nim-mock", "nim_mock.cli")


def serve_printing_port(app: Any, *, log_level: str = "warning") -> None:
    """Child side: serve ``app`` on a free loopback port, print the port first, run until SIGINT/SIGTERM.

    uvicorn stops gracefully on either signal and then raises it again once its own handler is gone;
    that second delivery is how the parent asked us to stop, so it ends the process quietly."""
    import uvicorn

    from nim_mock.serve.runner import bind_socket, uvicorn_config

    sock = bind_socket("127.0.0.1", 0)
    print(sock.getsockname()[1], flush=True)
    signal.signal(signal.SIGTERM, lambda *_: None)
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(uvicorn_config(app, log_level=log_level)).run(sockets=[sock])


def start_port_child(argv: Sequence[str], **popen: Any) -> tuple[subprocess.Popen[str], int]:
    """Parent side: run ``python <argv>`` (a script in its serving mode) and read the port it prints."""
    process = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE, text=True, **popen)
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        return process, int(line)
    except ValueError:
        stop(process)
        raise RuntimeError(f"{argv[0]} did not print its port; it printed {line!r}") from None


def start_nim_mock(args: Sequence[str], **popen: Any) -> tuple[subprocess.Popen[str], str]:
    """``nim-mock <args>`` as its own process, and the first line it prints (its announce line)."""
    process = subprocess.Popen([*nim_mock_command(), *args], stdout=subprocess.PIPE, text=True, **popen)
    assert process.stdout is not None
    return process, process.stdout.readline()


def stop(process: subprocess.Popen[str] | None, sig: int = signal.SIGINT, timeout: float = 10.0) -> None:
    """Ask ``process`` to stop with ``sig`` (Ctrl-C by default); kill it if it has not within ``timeout``."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_s(pid: int) -> float:
    """User + system CPU seconds ``pid`` has used, from /proc/<pid>/stat (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, *, quiet_s: float = 0.2, timeout: float = 10.0) -> None:
    """Wait until ``pid`` (and its workers) used under 5% of a core for ``quiet_s``: a server still
    writing the streams the last load run left behind would slow down the next run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = process_tree_cpu_s(pid)
        time.sleep(quiet_s)
        if process_tree_cpu_s(pid) - before < 0.05 * quiet_s:
            return


def process_tree_cpu_s(pid: int) -> float:
    """``cpu_s`` of ``pid`` plus that of its children (the workers of ``nim-mock serve --workers N``)."""
    total = cpu_s(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                total += cpu_s(int(stat.parent.name))
        except (OSError, ValueError):  # the process ended while we looked
            continue
    return total
