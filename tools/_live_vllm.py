"""The processes the vLLM scripts need: the vLLM target (``../shared/live-target-vllm``) and nim-mock.

Both are context managers that yield a base URL and always stop what they started, by its own PID
(``down.sh`` for vLLM, Ctrl-C for nim-mock), so a failed run never leaves a 2 GB server behind.

The vLLM venv and model are built once (~7 minutes) into ``$NIM_HARNESS_VLLM_CACHE`` (default
``~/.cache/nim-harness/live-target-vllm``) and reused: each run gets a fresh folder for its log and
PID whose ``venv`` and ``model`` link to the cached ones.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["CACHE", "MODEL", "TARGET", "TargetError", "nim_mock_process", "vllm_target"]

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("LIVE_TARGET_VLLM_SCRIPTS", ROOT.parent / "shared" / "live-target-vllm"))
CACHE = Path(
    os.environ.get("NIM_HARNESS_VLLM_CACHE", Path.home() / ".cache" / "nim-harness" / "live-target-vllm")
)
MODEL = "meta/llama-3.1-8b-instruct"
"""The NIM model id vLLM serves the tiny test model under, as a NIM container names its model."""

_URL = re.compile(r"http://\S+?/v1\b")


class TargetError(RuntimeError):
    """A server that would not start; the message says why and where its log is."""


def _built(folder: Path) -> bool:
    return (folder / "venv" / ".ok").is_file() and (folder / "model" / "config.json").is_file()


@contextmanager
def vllm_target(port: int, model: str = MODEL, *, running: str | None = None) -> Iterator[str]:
    """vLLM's OpenAI server on ``127.0.0.1:port`` serving ``model``; yields its base URL (``.../v1``).

    With ``running`` (the base URL of a vLLM target already up), that one is used and left running."""
    if running is not None:
        yield running.rstrip("/")
        return
    up, down = TARGET / "up.sh", TARGET / "down.sh"
    if not up.is_file():
        raise TargetError(f"{up} not found; set LIVE_TARGET_VLLM_SCRIPTS to the live-target-vllm folder")
    if _built(CACHE):
        run = Path(tempfile.mkdtemp(prefix=f"vllm-run-{port}-"))
        for part in ("venv", "model"):
            (run / part).symlink_to(CACHE / part)
    else:  # the first run builds the venv and the model into the cache itself (minutes)
        CACHE.mkdir(parents=True, exist_ok=True)
        run = CACHE
    try:
        started = subprocess.run(
            [str(up), str(run), str(port), model], capture_output=True, text=True, check=False
        )
        found = re.search(r"base_url=(\S+)", started.stdout)
        if started.returncode != 0 or found is None:
            raise TargetError(
                f"vLLM did not start (exit {started.returncode}); its log: {run / 'server.log'}\n"
                + started.stderr[-2000:]
            )
        print(f"vllm: {started.stdout.strip()}", file=sys.stderr, flush=True)
        yield found.group(1)
    finally:
        subprocess.run([str(down), str(run)], check=False)
        if run != CACHE:
            shutil.rmtree(run, ignore_errors=True)


@contextmanager
def nim_mock_process(arguments: Sequence[str], log: Path) -> Iterator[str]:
    """``nim-mock ARGUMENTS --port 0`` as a child process (its stderr to ``log``); yields the base URL
    it announces (the proxy's for ``record``, the mock's for ``serve``); Ctrl-C stops it on exit."""
    with log.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "nim_mock.cli", *arguments, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()
            found = _URL.search(banner)
            if found is None:
                raise TargetError(f"nim-mock {arguments[0]} did not start: {banner!r}; its log: {log}")
            yield found.group(0)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
