"""Which cassette file a test uses by default: a name derived from the test's module and name.

Pure functions only: callers hand in the node id pieces, so the naming rules are tested with
generated names and no pytest session. The file-format layer owns them because ``nim-mock check``
applies the same rules (to find cassettes no test uses) as the plugin (to find a test's cassette).

Derived names follow pytest-recording's idea (``<module>/<Class.test>``) but live in the project's
one cassette folder: ``tests/test_chat.py::TestX::test_y[a]`` becomes ``tests/test_chat/TestX.test_y[a]``.
Characters a filename cannot hold on Linux, macOS or Windows become ``_``.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Final

__all__ = ["BUNDLED_PREFIX", "cassette_path", "derive_cassette_name", "safe_component"]

BUNDLED_PREFIX: Final = "bundled:"
"""Marks a cassette name as one of those shipped with nim-harness (read-only, replay only)."""

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._\-\[\]=+,@]")
_MAX_COMPONENT: Final = 120


def safe_component(text: str) -> str:
    """One filename-safe path component: unsafe characters become ``_``; never empty, ``.`` or ``..``."""
    cleaned = _UNSAFE.sub("_", text)[:_MAX_COMPONENT]
    if cleaned.strip(".") == "":
        cleaned = cleaned.replace(".", "_") or "_"
    return cleaned


def derive_cassette_name(module_path: str, qualified_name: str) -> str:
    """The default cassette name for a test.

    ``module_path`` is the test file relative to the rootdir (``tests/test_chat.py``), ``qualified_name``
    the rest of the node id with ``::`` between class and function (``TestX::test_y[a]``).
    """
    module = PurePosixPath(module_path.replace("\\", "/"))
    parts = [safe_component(p) for p in module.with_suffix("").parts if p not in ("", ".", "..", "/")]
    leaf = safe_component(qualified_name.replace("::", "."))
    return "/".join([*parts, leaf])


def cassette_path(folder: Path, name: str) -> Path:
    """Where cassette ``name`` lives under ``folder``."""
    return folder.joinpath(*name.split("/")).with_name(name.split("/")[-1] + ".json")
