"""Warnings that point at the caller's line, not at the library frames in between.

A construction-time warning (an unknown argument, an old model name) is raised several frames
deep inside pydantic's validators and langchain-core's constructor, so no fixed ``stacklevel``
lands on the user's code. :func:`warn_user` walks out of those packages first.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import langchain_core
import pydantic

_INTERNAL = tuple(
    str(Path(module.__file__).resolve().parent)
    for module in (sys.modules[__package__ or "nim_harness"], pydantic, langchain_core)
    if module.__file__
)


def warn_user(message: str) -> None:
    """Issue a ``UserWarning`` attributed to the first frame outside nim_harness, pydantic and
    langchain-core (the code that called into them)."""
    level = 2
    frame = sys._getframe(1)
    while frame.f_back is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_INTERNAL):
        frame = frame.f_back
        level += 1
    warnings.warn(message, UserWarning, stacklevel=level)
