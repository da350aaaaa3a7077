"""Running the ``nim-mock`` command from tests: in-process through ``main``, or as the console script.

In-process runs are fast and see exactly what ``main`` writes to each stream; the console script
(or ``python -m nim_mock.cli`` where no script is installed) is for what only a real process shows:
signals, a port held open, the entry point itself.
"""

from __future__ import annotations

import io
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from nim_mock.cli import main


class CliRun(NamedTuple):
    """What one in-process ``nim-mock`` run returned and wrote."""

    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


def run_cli(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> CliRun:
    """``nim-mock <argv>`` in this process (``env=None``: the real environment, as the CLI reads it)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, env=env)
    return CliRun(code, out.getvalue(), err.getvalue())


def nim_mock_command() -> list[str]:
    """The argv prefix that starts ``nim-mock`` as its own process."""
    script = Path(sys.executable).parent / "nim-mock"
    if script.exists():
        return [str(script)]
    found = shutil.which("nim-mock")
    return [found] if found else [sys.executable, "-m", "nim_mock.cli"]


@dataclass
class ServeProcess:
    """A ``nim-mock serve`` process: its announce line and base URL while it runs; after the ``with``
    block (stopped by Ctrl-C), its exit code and everything it wrote to stderr."""

    process: subprocess.Popen[str]
    banner: str
    base_url: str
    err: str = ""

    @property
    def returncode(self) -> int | None:
        return self.process.returncode


@contextmanager
def serve_process(args: Sequence[str] = ()) -> Iterator[ServeProcess]:
    """``nim-mock serve --port 0 <args>`` as its own process, stopped with SIGINT (Ctrl-C) on a clean
    exit from the block and killed if the block fails, so no test leaves a server behind."""
    process = subprocess.Popen(
        [*nim_mock_command(), "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/v1", banner)
        assert found, banner
        served = ServeProcess(process, banner, found.group(0))
        yield served
        process.send_signal(signal.SIGINT)
        _, served.err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
