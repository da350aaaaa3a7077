"""Running the ``nim-mock`` command from tests: in-process through ``main``, or as the console script.

In-process runs are fast and see exactly what ``main`` writes to each stream; the console script
(or ``python -m nim_mock.cli`` where no script is installed) is for what only a real process shows:
signals, a port held open, the entry point itself.
"""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Mapping, Sequence
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
